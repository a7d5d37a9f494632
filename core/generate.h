#pragma once
// Text generation with a KV cache: greedy, or temperature / top-p sampling
// with a seed; measures prefill tokens/s and batch-1 decode tokens/s (what
// dropping blocks speeds up). Torch-free API.
#include "progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

class Model;
class Tokenizer;

struct GenerateOptions {
    int max_positions = 100;   // positions the model runs (llama2.c's steps): the result has at most one token more
    double temperature = 0;    // 0 = greedy
    double top_p = 1.0;
    uint64_t seed = 0;
    bool stop_at_eos = true;
    std::vector<int> drop_blocks;
    int threads = 0;
};

struct GenerateResult {
    std::vector<int32_t> ids; // prompt + continuation
    int64_t prompt_tokens = 0;
    std::string text;          // decoded, special tokens skipped
    double prefill_tokens_per_s = 0;
    double decode_tokens_per_s = 0;
};

GenerateResult generate(const Model& model, const Tokenizer& tok, const std::string& prompt, const GenerateOptions& opt,
                        const ProgressFn& progress = {});

} // namespace tailor
