#pragma once
// Products of block-quantized weights with many tokens at once (a prompt, an
// evaluation window): Y[t][r] = Σ_k W[r][k]·X[t][k] on int8, as llama.cpp's
// GEMM kernels do. The inputs are rounded to Q8_0 blocks (32 values, one
// fp16 scale: ggml's quantize_row_q8_0, the same rounding the batch-1 decoder
// uses), the weights are read from their panel form (panel_matrix.h), and a
// tile of 16 rows × up to 8 tokens accumulates in registers. So the result is
// the batch-1 decoder's matVec for each token, up to float summation order —
// the tests hold both to that — and differs from fp32 on the dequantized
// weights by the input rounding alone (docs/benchmarks.md gives the bound).
// Kernels: AVX512-VNNI (dpbusd on 16 rows at once), AVX2 (maddubs), and a
// portable one, which is the scalar definition the others are tested against.
// Torch-free.
#include "panel_matrix.h"

#include <cstdint>
#include <vector>

namespace tailor::decode {

// T inputs of `cols` values rounded to Q8_0 blocks, with the per-block
// quantities the kernels need precomputed once for every matrix that reads them.
class QuantizedRows {
public:
    // x: tokens rows of cols values (cols a multiple of 32), row t at x + t·ldx.
    void set(const float* x, int64_t tokens, int64_t cols, int64_t ldx);
    int64_t tokens() const { return tokens_; }
    int64_t cols() const { return cols_; }
    const int8_t* q(int64_t t) const { return q_.data() + t * cols_; }
    const float* d(int64_t t) const { return d_.data() + t * (cols_ / 32); }              // per 32
    const int32_t* sums(int64_t t, int sub) const { return (sub == 16 ? sum16_ : sum32_).data() + t * (cols_ / sub); }
    const float* dsums(int64_t t, int sub) const { return (sub == 16 ? dsum16_ : dsum32_).data() + t * (cols_ / sub); } // d·Σq

private:
    int64_t tokens_ = 0, cols_ = 0;
    std::vector<int8_t> q_;
    std::vector<float> d_, dsum16_, dsum32_;
    std::vector<int32_t> sum16_, sum32_;
};

// y[t·ldy + r] = row r of w · input t, for every row and token.
void gemm(const PanelMatrix& w, const QuantizedRows& x, float* y, int64_t ldy);

enum class GemmKernel { Portable, Avx2, Avx512Vnni };
// The fastest this CPU runs.
GemmKernel bestGemmKernel();
// Chooses the kernel gemm uses (clamped to what the CPU has); returns the
// previous choice. Not thread-safe: for tests and benchmarks.
GemmKernel useGemmKernel(GemmKernel k);
const char* gemmKernelName(GemmKernel k);

} // namespace tailor::decode
