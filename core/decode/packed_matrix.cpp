#include "packed_matrix.h"
#include "row_kernels.h"
#include "core/util/error.h"
#include "core/formats/gguf/ggml_fp16.h"
#include "core/formats/gguf/ggml_quants.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>

// PackedMatrix rows against an Activation, many matrices at once (matVec);
// the per-row dot products are row_kernels.cpp's.

namespace tailor::decode {

using gguf::TensorType;

namespace {

bool int8Kernel(TensorType t) { return kernels::hasInt8Kernel(t); }

// Rows [r0, r1) of one matrix.
void rows(const PackedMatrix& m, const Activation& x, int64_t r0, int64_t r1, float* y)
{
    const int64_t n = m.cols;
    const float* xf = x.f32();
    switch (m.type) {
    case TensorType::F32:
        for (int64_t r = r0; r < r1; ++r)
            y[r] = kernels::f32(reinterpret_cast<const float*>(m.row(r)), xf, n);
        return;
    case TensorType::F16:
        for (int64_t r = r0; r < r1; ++r)
            y[r] = kernels::f16(reinterpret_cast<const uint16_t*>(m.row(r)), xf, n);
        return;
    case TensorType::BF16:
        for (int64_t r = r0; r < r1; ++r)
            y[r] = kernels::bf16(reinterpret_cast<const uint16_t*>(m.row(r)), xf, n);
        return;
    default:
        break;
    }
    if (int8Kernel(m.type) && !x.exact()) {
        for (int64_t r = r0; r < r1; ++r)
            y[r] = kernels::int8Row(m.type, m.row(r), x.q8(), x.q8Scales(), x.q8Sums(), n);
        return;
    }
    // any other block type (and the exact mode): the row decoded to fp32
    thread_local std::vector<float> buf;
    buf.resize(std::size_t(n));
    for (int64_t r = r0; r < r1; ++r) {
        gguf::dequantizeRows(m.type, m.row(r), buf.data(), n);
        y[r] = kernels::f32(buf.data(), xf, n);
    }
}

} // namespace

bool vectorKernels() { return kernels::useAvx2(); }

bool useVectorKernels(bool on)
{
    const bool before = kernels::useAvx2();
    kernels::useAvx2() = on && kernels::hasAvx2();
    return before;
}

void Activation::set(const float* x, int64_t n, bool exact)
{
    x_.assign(x, x + n);
    exact_ = exact;
    q_.clear();
    d_.clear();
    sums_.clear();
    if (exact || n % gguf::kBlock != 0)
        return;
    q_.resize(std::size_t(n));
    d_.resize(std::size_t(n / gguf::kBlock));
    sums_.assign(std::size_t(n / gguf::kBlock), 0);
    for (int64_t b = 0; b < n / gguf::kBlock; ++b)
        d_[std::size_t(b)] = roundQ8Block(x + b * gguf::kBlock, q_.data() + b * gguf::kBlock, &sums_[std::size_t(b)]);
}

float roundQ8Block(const float* xb, int8_t* q, int32_t* sum)
{
    float amax = 0;
    for (int j = 0; j < gguf::kBlock; ++j)
        amax = std::max(amax, std::fabs(xb[j]));
    const float id = amax != 0 ? 127.f / amax : 0.f;
    int32_t s = 0;
    for (int j = 0; j < gguf::kBlock; ++j)
        s += (q[j] = int8_t(std::nearbyint(xb[j] * id)));
    *sum = s;
    return gguf::halfToFloat(gguf::floatToHalf(amax / 127.f));
}

void matVec(const std::vector<MatVecJob>& jobs)
{
    int64_t total = 0;
    for (const MatVecJob& j : jobs) {
        if (j.m->cols != j.x->size())
            throw Error("matrix of " + std::to_string(j.m->cols) + " columns applied to a vector of " + std::to_string(j.x->size()));
        if (int8Kernel(j.m->type) && !j.x->exact() && !j.x->hasQ8())
            throw Error(gguf::typeName(j.m->type) + " rows need inputs of a multiple of 32 values");
        total += j.m->rows;
    }
    // The rows of all the jobs form one index space; each thread takes a contiguous share.
    at::parallel_for(0, total, 64, [&](int64_t begin, int64_t end) {
        int64_t base = 0;
        for (const MatVecJob& j : jobs) {
            const int64_t lo = std::max(begin, base), hi = std::min(end, base + j.m->rows);
            if (lo < hi)
                rows(*j.m, *j.x, lo - base, hi - base, j.y);
            base += j.m->rows;
        }
    });
}

float dot(const float* a, const float* b, int64_t n) { return kernels::f32(a, b, n); }

void decodeRow(const PackedMatrix& m, int64_t r, float* out)
{
    const uint8_t* p = m.row(r);
    switch (m.type) {
    case TensorType::F32: std::memcpy(out, p, std::size_t(m.cols) * 4); return;
    case TensorType::F16:
        for (int64_t i = 0; i < m.cols; ++i)
            out[i] = gguf::halfToFloat(reinterpret_cast<const uint16_t*>(p)[i]);
        return;
    case TensorType::BF16:
        for (int64_t i = 0; i < m.cols; ++i)
            out[i] = kernels::bf16Value(reinterpret_cast<const uint16_t*>(p)[i]);
        return;
    default: gguf::dequantizeRows(m.type, p, out, m.cols);
    }
}

} // namespace tailor::decode
