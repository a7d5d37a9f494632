#pragma once
// A GGUF file size from the command line: bytes ("3500000", "3.5M", "1.2G";
// K/M/G are 1024-based) or a llama-quantize type whose file of this model
// sets the size ("q4_k_m"). Shared by quant --target-size and plan.
#include <string>

namespace tailor {
class Model;
struct Imatrix;
}

namespace tailor::cli {

// `option` names the flag in the usage error; `sizeOf` gets the type when one was given.
double targetFileBytes(const std::string& text, const Model& model, const Imatrix* imatrix, const std::string& option,
                       std::string* sizeOf = nullptr);

} // namespace tailor::cli
