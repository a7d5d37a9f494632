#pragma once
// Per-type kernels behind ggml_quants.h (one row of n values, n a multiple of
// the block; qw null or n importance weights for that row's columns).
#include <cstdint>

namespace tailor::gguf::kernels {

void quantizeQ4_0(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ4_1(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ5_0(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ5_1(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ8_0(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ2_K(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ3_K(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ4_K(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ5_K(const float* x, void* y, int64_t n, const float* qw);
void quantizeQ6_K(const float* x, void* y, int64_t n, const float* qw);
void quantizeIQ4_NL(const float* x, void* y, int64_t n, const float* qw);
void quantizeIQ4_XS(const float* x, void* y, int64_t n, const float* qw);
void quantizeTQ1_0(const float* x, void* y, int64_t n, const float* qw);
void quantizeTQ2_0(const float* x, void* y, int64_t n, const float* qw);
void quantizeIQ3_XXS(const float* x, void* y, int64_t n, const float* qw);
void quantizeIQ3_S(const float* x, void* y, int64_t n, const float* qw);
void quantizeIQ2_XXS(const float* x, void* y, int64_t n, const float* qw); // qw required
void quantizeIQ2_XS(const float* x, void* y, int64_t n, const float* qw);  // qw required
void quantizeIQ2_S(const float* x, void* y, int64_t n, const float* qw);
void quantizeIQ1_S(const float* x, void* y, int64_t n, const float* qw); // qw required
void quantizeIQ1_M(const float* x, void* y, int64_t n, const float* qw);

void dequantizeQ4_0(const void* x, float* y, int64_t n);
void dequantizeQ4_1(const void* x, float* y, int64_t n);
void dequantizeQ5_0(const void* x, float* y, int64_t n);
void dequantizeQ5_1(const void* x, float* y, int64_t n);
void dequantizeQ8_0(const void* x, float* y, int64_t n);
void dequantizeQ2_K(const void* x, float* y, int64_t n);
void dequantizeQ3_K(const void* x, float* y, int64_t n);
void dequantizeQ4_K(const void* x, float* y, int64_t n);
void dequantizeQ5_K(const void* x, float* y, int64_t n);
void dequantizeQ6_K(const void* x, float* y, int64_t n);
void dequantizeIQ4_NL(const void* x, float* y, int64_t n);
void dequantizeIQ4_XS(const void* x, float* y, int64_t n);
void dequantizeTQ1_0(const void* x, float* y, int64_t n);
void dequantizeTQ2_0(const void* x, float* y, int64_t n);
void dequantizeIQ2_XXS(const void* x, float* y, int64_t n);
void dequantizeIQ2_XS(const void* x, float* y, int64_t n);
void dequantizeIQ2_S(const void* x, float* y, int64_t n);
void dequantizeIQ3_XXS(const void* x, float* y, int64_t n);
void dequantizeIQ3_S(const void* x, float* y, int64_t n);
void dequantizeIQ1_S(const void* x, float* y, int64_t n);
void dequantizeIQ1_M(const void* x, float* y, int64_t n);

} // namespace tailor::gguf::kernels
