#pragma once
// llama.cpp as the oracle (node-llama-cpp 3.21.1's libllama, fetched by
// scripts/fetch_fixtures.sh): its quantizer and its decoder, called the way
// its tools call them. Shared by test_llama_oracle and test_gguf_input.
#include "core/formats/gguf/gguf_mixture.h"
#include "core/util/token_windows.h"

#include <QString>
#include <llama.h>
#include <string>
#include <utility>
#include <vector>

namespace tailor::oracle {

// A log callback that shows libllama's errors only.
void quiet(ggml_log_level level, const char* text, void*);

// Same names, types and bytes; otherwise what differs first.
QString compareGguf(const std::string& ours, const std::string& theirs);

// llama_model_quantize (llama-quantize) of an F32 file, with importance
// weights under the names given and --tensor-type overrides; 0 on success.
uint32_t llamaQuantize(const std::string& f32, const std::string& out, llama_ftype ftype,
                       const std::vector<std::pair<std::string, std::vector<float>>>& imatrix,
                       const std::vector<gguf::TypeOverride>& overrides);

// Perplexity of a GGUF file through libllama's llama_decode, on the given
// windows (each its own sequence from position 0, as Tailor evaluates them):
// mean NLL of tokens 1..L-1 in double from the runtime's logits. fp32 KV cache.
double llamaPerplexity(const std::string& file, const TokenWindows& w);

} // namespace tailor::oracle
