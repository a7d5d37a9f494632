#pragma once
// Exports a (compressed) model as one GGUF v3 file for llama.cpp: the
// {arch}.* hyper-parameters (arch, q/k permutation and tokenizer pre from the
// family's row in archFamilies(): "llama" for llama/mistral, "qwen2", "qwen3"),
// the tokenizer embedded (gguf_vocab.h), blocks renumbered after dropping, q/k
// rows permuted back to llama.cpp's interleaved RoPE layout where the row says
// so (llama; the Qwen families keep HF's layout, as llama.cpp's converter does), llama3 rope scaling as a
// rope_freqs tensor. Matrices in F32, F16, Q8_0 or Q4_0; norms and biases F32;
// a matrix whose rows are not a multiple of 32 falls back to F16 (said in warnings).
#include "core/progress.h"

#include <string>
#include <vector>

namespace tailor {

class Model;

struct GgufExportOptions {
    std::string type = "F16"; // F32 | F16 | Q8_0 | Q4_0
    bool force = false;
    std::string name; // general.name; the folder name when empty
};

struct GgufExportReport {
    int64_t tensors = 0;
    uint64_t bytes = 0;
    std::vector<std::string> warnings;
};

GgufExportReport exportGguf(const Model& model, const std::vector<int>& dropBlocks, const std::string& outFile,
                            const GgufExportOptions& opt, const ProgressFn& progress = {});

// llama.cpp's q/k row order from HF's (and back, with inverse = true):
// rows [heads, 2, hd/2] <-> [heads, hd/2, 2].
std::vector<int64_t> ropeRowPermutation(int64_t heads, int64_t headDim, bool inverse = false);

} // namespace tailor
