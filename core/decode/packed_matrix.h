#pragma once
// A weight matrix as it is stored, for batch-1 decoding: rows of F32, F16,
// BF16 or one of llama.cpp's block types, read in place (a view of the mapped
// checkpoint, or bytes encoded once). Decoding one token reads every weight
// once, so its speed is set by how many bytes the matrix has, not by a fp32
// copy of it. Torch-free.
#include "core/formats/gguf/gguf_types.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace tailor::decode {

struct PackedMatrix {
    gguf::TensorType type = gguf::TensorType::F32;
    int64_t rows = 0, cols = 0;
    const uint8_t* data = nullptr;
    std::shared_ptr<const void> keep; // owns or pins data

    // A view of rows already encoded (the caller keeps `bytes` alive).
    static PackedMatrix over(gguf::TensorType type, int64_t rows, int64_t cols, const void* bytes)
    {
        PackedMatrix m;
        m.type = type;
        m.rows = rows;
        m.cols = cols;
        m.data = static_cast<const uint8_t*>(bytes);
        return m;
    }
    int64_t rowBytes() const { return gguf::rowBytes(type, cols); }
    int64_t bytes() const { return rows * rowBytes(); }
    const uint8_t* row(int64_t r) const { return data + r * rowBytes(); }
};

// Rounds 32 values to one Q8_0 block as ggml's x86 quantize_row_q8_0 does
// (d = amax / 127 stored as fp16, q = round-half-even(x · 127 / amax)); returns
// d as a float and writes Σq. The decoder's vectors and the GEMM's token rows
// (packed_gemm.h) are rounded by this one function.
float roundQ8Block(const float* x, int8_t* q, int32_t* sum);

// One input vector, prepared once for every matrix that reads it. Block types
// multiply it as llama.cpp does: rounded to Q8_0 blocks (one fp16 scale per 32
// values) so that the dot products run on int8, unless `exact` asks for fp32
// activations against weights decoded on the fly (slower; the reference).
class Activation {
public:
    void set(const float* x, int64_t n, bool exact);
    const float* f32() const { return x_.data(); }
    int64_t size() const { return int64_t(x_.size()); }
    bool exact() const { return exact_; }
    // Q8_0 blocks of the input: int8 values and their scales (fp16-rounded, as floats)
    const int8_t* q8() const { return q_.data(); }
    const float* q8Scales() const { return d_.data(); }
    const int32_t* q8Sums() const { return sums_.data(); } // Σ q per block (the K types' mins)
    bool hasQ8() const { return !q_.empty(); }

private:
    std::vector<float> x_, d_;
    std::vector<int8_t> q_;
    std::vector<int32_t> sums_;
    bool exact_ = false;
};

// Several products in one parallel region (q, k, v; gate, up; the second
// factors of low-rank layers): the rows of all jobs are split evenly over the
// compute threads, so a token costs a few thread wake-ups, not one per matrix.
struct MatVecJob {
    const PackedMatrix* m;
    const Activation* x;
    float* y; // m->rows outputs
};

void matVec(const std::vector<MatVecJob>& jobs);

// y = W x for one matrix.
inline void matVec(const PackedMatrix& m, const Activation& x, float* y) { matVec({{&m, &x, y}}); }

// fp32 dot product (vectorized where the CPU allows).
float dot(const float* a, const float* b, int64_t n);

// Row r of the matrix as fp32 (embedding lookups).
void decodeRow(const PackedMatrix& m, int64_t r, float* out);

// Whether the int8 kernels run with AVX2 on this CPU (otherwise portable C++).
bool vectorKernels();
// Chooses the AVX2 kernels (when the CPU has them) or the portable ones;
// returns the previous choice. Not thread-safe: for tests and benchmarks.
bool useVectorKernels(bool on);

} // namespace tailor::decode
