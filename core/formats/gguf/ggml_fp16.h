#pragma once
// IEEE half <-> float as ggml's portable path does it (round to nearest even,
// subnormals kept): the fp16 scales of every block go through these, so a scale
// that lands between two halves rounds the way llama.cpp's files do.
#include <cstdint>
#include <cmath>
#include <cstring>

namespace tailor::gguf {

inline uint32_t floatBits(float f)
{
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float bitsFloat(uint32_t u)
{
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline float halfToFloat(uint16_t h)
{
    const uint32_t w = uint32_t(h) << 16, sign = w & 0x80000000u, two_w = w + w;
    const float normalized = bitsFloat((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float denormalized = bitsFloat((two_w >> 17) | (126u << 23)) - 0.5f;
    return bitsFloat(sign | (two_w < (1u << 27) ? floatBits(denormalized) : floatBits(normalized)));
}

inline uint16_t floatToHalf(float f)
{
    float base = (std::fabs(f) * 0x1.0p+112f) * 0x1.0p-110f;
    const uint32_t w = floatBits(f), shl1_w = w + w, sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u)
        bias = 0x71000000u;
    base = bitsFloat((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = floatBits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u, mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return uint16_t((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

} // namespace tailor::gguf
