#pragma once
// Dot products of one stored row with an input vector, for every format the
// decoder multiplies in place: F32/F16/BF16 rows against fp32 inputs, and
// llama.cpp's Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and Q6_K blocks as int8
// against inputs rounded to Q8_0 blocks (q, scales d, per-block sums). Each
// has a portable version and an AVX2/FMA/F16C one (AVX-VNNI for Q4_0) chosen
// at run time; tests compare the two (useAvx2() = false selects the portable).
#include "core/formats/gguf/gguf_types.h"

#include <cstdint>

namespace tailor::decode::kernels {

bool hasAvx2();   // the CPU has AVX2, FMA and F16C
bool hasVnni();   // ... and AVX-VNNI
bool& useAvx2();  // whether the vector kernels are used (never true without hasAvx2())

float f32(const float* w, const float* x, int64_t n);
float f16(const uint16_t* w, const float* x, int64_t n);
float bf16(const uint16_t* w, const float* x, int64_t n);
float bf16Value(uint16_t bits);

bool hasInt8Kernel(gguf::TensorType type);
// A row of `type` blocks (n values) against the Q8_0-rounded input.
float int8Row(gguf::TensorType type, const uint8_t* w, const int8_t* q, const float* d, const int32_t* sums, int64_t n);

} // namespace tailor::decode::kernels
