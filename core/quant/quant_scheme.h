#pragma once
// A weight quantization scheme. Linear quantization q = clip(round(r/s) + z,
// qmin, qmax) (round half to even), symmetric (z = 0, qmax = 2^(b-1)-1,
// qmin = -qmax-1) or asymmetric (z = round(-min/s), 0..2^b-1), per tensor, per
// output channel or per group of G input columns; or one of llama.cpp's block
// types (q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k), computed by the
// same quantizers a GGUF export writes (core/formats/gguf/ggml_quants.h), so the
// errors studied are those llama.cpp will run with. Names: int4_sym_g32,
// int3_asym_g16, int8_sym_channel, int8_asym_tensor, q8_0, q4_k. When G does
// not divide the input width, the last group of each row is shorter and has
// its own scale (no padding); the llama.cpp types need a multiple of their
// block (32, or 256 for the K types) and refuse otherwise.
#include "core/formats/gguf/gguf_types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

enum class QuantFormat { Linear, Ggml };
enum class Granularity { Tensor, Channel, Group };
enum class ClipMethod { MinMax, Mse }; // Mse: per-group search of the clipping ratio

struct QuantScheme {
    QuantFormat format = QuantFormat::Linear;
    int bits = 4;
    bool symmetric = true;
    Granularity granularity = Granularity::Group;
    int64_t group = 32;
    ClipMethod clip = ClipMethod::MinMax;
    gguf::TensorType ggml = gguf::TensorType::F32; // the block type when format == Ggml

    static QuantScheme parse(const std::string& name); // throws on unknown names
    std::string name() const;
    void validate() const;                              // bits 2..8, group > 0
    void checkShape(const std::string& tensor, int64_t in) const;
    int64_t blockSize(int64_t in) const;                // columns sharing one scale
    double bitsPerWeight(int64_t in) const;             // incl. fp16 scales (and zero points)
};

// The same scheme: the name says every choice that changes the result
// (fields a scheme does not use, e.g. the group of a per-channel one, do not count).
bool operator==(const QuantScheme& a, const QuantScheme& b);
bool operator!=(const QuantScheme& a, const QuantScheme& b);

// Every scheme name the GUI and CLI offer for llama.cpp's block types.
std::vector<std::string> ggmlSchemeNames();

} // namespace tailor
