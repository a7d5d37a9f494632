#pragma once
// Perplexity by the window protocol (token_windows.h), windows batched so small
// models are not overhead-bound. Torch-free API.
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

class Model;

struct EvalOptions {
    int64_t seq_len = 256;
    int64_t max_windows = 0;      // 0 = every full window
    int threads = 0;              // 0 = all cores
    int64_t batch_tokens = 2048;  // windows per forward = max(1, batch_tokens / seq_len); 2048 measured fastest
    std::vector<int> drop_blocks; // evaluate the model without these blocks
    std::string text_label = "evaluation text"; // names the text in errors (the CLI gives its path)
    // Block-quantized layers and head on int8 GEMM against inputs rounded to
    // Q8_0 (llama.cpp's arithmetic, decode/packed_forward.h) instead of fp32
    // on their dequantized values (the default, exact reference).
    bool int8_products = false;
};

struct EvalResult {
    double ppl = 0;
    double nll = 0; // summed over predicted tokens
    int64_t tokens = 0;           // tokens in the evaluated windows
    int64_t predicted_tokens = 0;
    int64_t windows = 0;
    int64_t seq_len = 0;
    double seconds = 0;
    double tokens_per_s = 0;
    int int8_linears = 0; // linear layers multiplied on int8 (int8_products and a block type with a panel form)
};

EvalResult evaluatePerplexity(const Model& model, const std::vector<int32_t>& ids,
                              const EvalOptions& opt, const ProgressFn& progress = {});

// Same on windows already cut (calibration sets).
EvalResult evaluateWindows(const Model& model, const TokenWindows& windows, const EvalOptions& opt,
                           const ProgressFn& progress = {});

// Checks drop_blocks against the model: in range, no duplicates, not all blocks.
std::vector<bool> blockSkipMask(const Model& model, const std::vector<int>& dropBlocks);

} // namespace tailor
