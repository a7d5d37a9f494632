#pragma once
// Generation throughput at batch B (evaluation and serving, #18): B sequences
// are prefilled together and then decoded together, one token each per step,
// with a KV cache, through the batched fp32 forward (blockForward) on widened
// weights. Each step's matrix products read a weight once for B tokens, so
// at batch 8 the cost moves from memory bandwidth towards arithmetic: the
// regime where width pruning's smaller matrices count as much as depth
// pruning's fewer layers. Tokens/s are summed over the sequences; medians of
// the repeats after a warm-up, as for batch 1 (decode_speed.h). Torch-free.
#include "core/decode/decode_speed.h"

#include <cstdint>
#include <vector>

namespace tailor {

struct BatchThroughputOptions {
    int64_t batch = 8;
    int64_t prompt_tokens = 64;
    int64_t decode_tokens = 32;
    int repeats = 3; // counted runs, after one warm-up
    int threads = 0; // 0: adaptive (compute_threads.h)
    std::vector<int> drop_blocks;
    bool exact_products = false; // block types on fp32 (widened) instead of int8 GEMM
};

struct BatchThroughput {
    int64_t batch = 0;
    SpeedStats prefill, decode; // tokens/s over all sequences
    bool weights_widened_once = false; // false: widened at every step (fp32 copies did not fit)
    bool int8_products = false;        // block types multiplied on int8 GEMM (packed_gemm.h), not widened
    int threads = 0;
    // What the last run computed, for checking it: each sequence's prompt and
    // greedy continuation, and the logits of its last position [batch][vocab].
    std::vector<std::vector<int32_t>> tokens;
    std::vector<std::vector<float>> last_logits;
};

// The batch-1 run's settings (prompt, decoded tokens, repeats, threads, dropped blocks) at batch B.
BatchThroughputOptions batchOptions(const DecodeSpeedOptions& batch1, int64_t batch);

BatchThroughput measureBatchThroughput(const Model& model, const BatchThroughputOptions& opt, const ProgressFn& progress = {});

} // namespace tailor
