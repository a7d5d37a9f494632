#pragma once
// The i-quant grids (ggml_iq_grids.cpp: data of the format, from llama.cpp).
#include <cstdint>

namespace tailor::gguf::grids {

extern const uint64_t kIq2xxs[256]; // IQ2_XXS: 8 magnitudes (1, 3, 5 or 7 ×… as bytes) per index
extern const uint64_t kIq2xs[512];  // IQ2_XS
extern const uint64_t kIq2s[1024];  // IQ2_S (IQ2_M)
extern const uint32_t kIq3xxs[256]; // IQ3_XXS: 4 magnitudes per index
extern const uint32_t kIq3s[512];   // IQ3_S (IQ3_XS, IQ3_M)
extern const uint64_t kIq1s[2048];  // IQ1_S and IQ1_M: 8 values in {-1, 0, 1} as int8
// The IQ3 grids as the quantizers search them: four 3-bit levels l per
// entry (value 2l + 1), the same points as kIq3xxs/kIq3s in another encoding.
extern const uint16_t kIq3xxsCodes[256];
extern const uint16_t kIq3sCodes[512];
// The IQ2 grids the same way: eight 2-bit levels l per entry (value 2l + 1).
extern const uint16_t kIq2xxsCodes[256];
extern const uint16_t kIq2xsCodes[512];
extern const uint16_t kIq2sCodes[1024];
extern const uint16_t kIq1Codes[2048]; // IQ1_S and IQ1_M

// The sign bits of 8 values from 7 stored bits: the eighth makes the count even.
inline uint8_t signsOf(uint32_t seven)
{
    const uint32_t v = seven & 127;
    return uint8_t(v | ((__builtin_popcount(v) & 1) << 7));
}

} // namespace tailor::gguf::grids
