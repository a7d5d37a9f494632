#pragma once
// Text generation: greedy, or temperature / top-p sampling with a seed, on the
// batch-1 decoder (decode/decoder.h: weights as stored, KV cache); reports the
// prefill and decode tokens/s of this one run (decode/decode_speed.h measures
// them properly, repeated). Torch-free API.
#include "core/util/progress.h"

#include <cstdint>
#include <functional>
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
    // Called with the text so far after each new token (streaming previews).
    std::function<void(const std::string& text)> on_text;
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
