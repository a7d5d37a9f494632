#pragma once
// A weight quantization scheme. Linear quantization q = clip(round(r/s) + z,
// qmin, qmax) (round half to even), symmetric (z = 0, qmax = 2^(b-1)-1,
// qmin = -qmax-1) or asymmetric (z = round(-min/s), 0..2^b-1), per tensor, per
// output channel or per group of G input columns; llama.cpp's Q8_0 and Q4_0
// (blocks of 32, fp16 scale). Names: int4_sym_g32, int3_asym_g16,
// int8_sym_channel, int8_asym_tensor, q8_0, q4_0. When G does not divide the
// input width, the last group of each row is shorter and has its own scale (no
// padding); Q8_0 / Q4_0 need a multiple of 32 columns and refuse otherwise.
#include <cstdint>
#include <string>

namespace tailor {

enum class QuantFormat { Linear, Q8_0, Q4_0 };
enum class Granularity { Tensor, Channel, Group };
enum class ClipMethod { MinMax, Mse }; // Mse: per-group search of the clipping ratio

struct QuantScheme {
    QuantFormat format = QuantFormat::Linear;
    int bits = 4;
    bool symmetric = true;
    Granularity granularity = Granularity::Group;
    int64_t group = 32;
    ClipMethod clip = ClipMethod::MinMax;

    static QuantScheme parse(const std::string& name); // throws on unknown names
    std::string name() const;
    void validate() const;                              // bits 2..8, group > 0
    void checkShape(const std::string& tensor, int64_t in) const;
    int64_t blockSize(int64_t in) const;                // columns sharing one scale
    double bitsPerWeight(int64_t in) const;             // incl. fp16 scales (and zero points)
};

} // namespace tailor
