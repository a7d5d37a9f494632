#pragma once
// Writes a synthetic Llama checkpoint of a real shape (config.json, sharded
// safetensors with an index, a copy of a tokenizer) with random weights scaled
// like a trained model (normal, std 0.02; norms 1). Benchmarks and the scale
// tests use it, so no model hub is needed. Shards are written one at a time so
// a 7B checkpoint never sits in memory whole.
#include "core/util/progress.h"

#include <cstdint>
#include <string>

namespace tailor {

struct SyntheticShape {
    std::string name;
    int64_t hidden = 2048, intermediate = 5632, n_layer = 22, n_head = 32, n_head_kv = 4, vocab = 32000;
    bool tied = false;
    static SyntheticShape tinyLlama1B(); // TinyLlama-1.1B
    static SyntheticShape llama2_7B();   // Llama-2-7B
};

// dtype "BF16" | "F16" | "F32"; shardBytes: the size above which a new shard starts.
void writeSyntheticCheckpoint(const std::string& dir, const SyntheticShape& s, const std::string& dtype,
                              const std::string& tokenizerDir, uint64_t shardBytes = uint64_t(2) << 30,
                              uint64_t seed = 1, const ProgressFn& progress = {});

} // namespace tailor
