// The 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (ggml-quants.c's
// quantize_row_*_ref without an importance matrix, quantize_row_*_impl with one).
#include "ggml_block_layouts.h"
#include "ggml_quants_impl.h"
#include "ggml_fp16.h"
#include "ggml_quant_search.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

namespace tailor::gguf::kernels {

using search::makeQkx3Quants;
using search::makeQxQuants;

namespace {
// block layouts: ggml_block_layouts.h

constexpr int qk = 32;

float rowSigma2(const float* x, int64_t n)
{
    float sumX2 = 0;
    for (int64_t j = 0; j < n; ++j)
        sumX2 += x[j] * x[j];
    return sumX2 / n;
}

void minMax(const float* x, float* min, float* max)
{
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < qk; j++) {
        if (x[j] < *min)
            *min = x[j];
        if (x[j] > *max)
            *max = x[j];
    }
}

// Q4_1 / Q5_1 with importance weights: the codes in L, the block's d and m set
template <typename Block>
void weightedAsym(const float* xb, const float* w, float sigma2, int nmax, uint8_t* L, Block& y)
{
    float weight[qk];
    uint8_t Laux[qk];
    search::importanceWeights(xb, w, sigma2, qk, weight);
    float min;
    const float d = search::makeQkx3Quants(qk, nmax, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    y.d = floatToHalf(d);
    y.m = floatToHalf(-min);
}

float signedAbsMax(const float* x)
{
    return search::signedAbsMax(x, qk);
}
} // namespace

void quantizeQ4_0(const float* x, void* vy, int64_t n, const float* qw)
{
    auto* y = static_cast<BlockQ4_0*>(vy);
    const int64_t nb = n / qk;
    if (!qw) {
        for (int64_t i = 0; i < nb; i++, x += qk) {
            const float max = signedAbsMax(x);
            const float d = max / -8;
            const float id = d ? 1.0f / d : 0.0f;
            y[i].d = floatToHalf(d);
            for (int j = 0; j < qk / 2; ++j) {
                const float x0 = x[j] * id, x1 = x[qk / 2 + j] * id;
                const uint8_t xi0 = uint8_t(std::min(15, int(int8_t(x0 + 8.5f))));
                const uint8_t xi1 = uint8_t(std::min(15, int(int8_t(x1 + 8.5f))));
                y[i].qs[j] = uint8_t(xi0 | (xi1 << 4));
            }
        }
        return;
    }
    const float sigma2 = rowSigma2(x, n);
    float weight[qk];
    int8_t L[qk];
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* xb = x + qk * ib;
        const float* w = qw + qk * ib;
        search::importanceWeights(xb, w, sigma2, qk, weight);
        const float d = makeQxQuants(qk, 8, xb, L, 1, weight);
        y[ib].d = floatToHalf(d);
        for (int j = 0; j < 16; ++j)
            y[ib].qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
    }
}

void quantizeQ4_1(const float* x, void* vy, int64_t n, const float* qw)
{
    auto* y = static_cast<BlockQ4_1*>(vy);
    const int64_t nb = n / qk;
    if (!qw) {
        for (int64_t i = 0; i < nb; i++, x += qk) {
            float min, max;
            minMax(x, &min, &max);
            const float d = (max - min) / ((1 << 4) - 1);
            const float id = d ? 1.0f / d : 0.0f;
            y[i].d = floatToHalf(d);
            y[i].m = floatToHalf(min);
            for (int j = 0; j < qk / 2; ++j) {
                const float x0 = (x[j] - min) * id, x1 = (x[qk / 2 + j] - min) * id;
                const uint8_t xi0 = uint8_t(std::min(15, int(int8_t(x0 + 0.5f))));
                const uint8_t xi1 = uint8_t(std::min(15, int(int8_t(x1 + 0.5f))));
                y[i].qs[j] = uint8_t(xi0 | (xi1 << 4));
            }
        }
        return;
    }
    const float sigma2 = rowSigma2(x, n);
    uint8_t L[qk];
    for (int64_t ib = 0; ib < nb; ++ib) {
        weightedAsym(x + qk * ib, qw + qk * ib, sigma2, 15, L, y[ib]);
        for (int j = 0; j < 16; ++j)
            y[ib].qs[j] = uint8_t(L[j] | (L[j + 16] << 4));
    }
}

namespace {
// 5-bit codes: low nibbles in qs, bit 4 of element j in bit j of qh
template <typename Block>
void pack5(Block& b, const uint8_t* xi)
{
    uint32_t qh = 0;
    for (int j = 0; j < qk / 2; ++j) {
        const uint8_t xi0 = xi[j], xi1 = xi[j + qk / 2];
        b.qs[j] = uint8_t((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
        qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
        qh |= ((xi1 & 0x10u) >> 4) << (j + qk / 2);
    }
    std::memcpy(b.qh, &qh, sizeof(qh));
}
} // namespace

void quantizeQ5_0(const float* x, void* vy, int64_t n, const float* qw)
{
    auto* y = static_cast<BlockQ5_0*>(vy);
    const int64_t nb = n / qk;
    uint8_t xi[qk];
    if (!qw) {
        for (int64_t i = 0; i < nb; i++, x += qk) {
            const float max = signedAbsMax(x);
            const float d = max / -16;
            const float id = d ? 1.0f / d : 0.0f;
            y[i].d = floatToHalf(d);
            for (int j = 0; j < qk; ++j)
                xi[j] = uint8_t(std::min(31, int(int8_t(x[j] * id + 16.5f))));
            pack5(y[i], xi);
        }
        return;
    }
    const float sigma2 = rowSigma2(x, n);
    float weight[qk];
    int8_t L[qk];
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* xb = x + qk * ib;
        const float* w = qw + qk * ib;
        search::importanceWeights(xb, w, sigma2, qk, weight);
        const float d = makeQxQuants(qk, 16, xb, L, 1, weight);
        y[ib].d = floatToHalf(d);
        for (int j = 0; j < qk; ++j)
            xi[j] = uint8_t(L[j]);
        pack5(y[ib], xi);
    }
}

void quantizeQ5_1(const float* x, void* vy, int64_t n, const float* qw)
{
    auto* y = static_cast<BlockQ5_1*>(vy);
    const int64_t nb = n / qk;
    uint8_t xi[qk];
    if (!qw) {
        for (int64_t i = 0; i < nb; i++, x += qk) {
            float min, max;
            minMax(x, &min, &max);
            const float d = (max - min) / ((1 << 5) - 1);
            const float id = d ? 1.0f / d : 0.0f;
            y[i].d = floatToHalf(d);
            y[i].m = floatToHalf(min);
            for (int j = 0; j < qk; ++j)
                xi[j] = uint8_t((x[j] - min) * id + 0.5f);
            pack5(y[i], xi);
        }
        return;
    }
    const float sigma2 = rowSigma2(x, n);
    uint8_t L[qk];
    for (int64_t ib = 0; ib < nb; ++ib) {
        weightedAsym(x + qk * ib, qw + qk * ib, sigma2, 31, L, y[ib]);
        pack5(y[ib], L);
    }
}

void quantizeQ8_0(const float* x, void* vy, int64_t n, const float*)
{
    auto* y = static_cast<BlockQ8_0*>(vy);
    for (int64_t i = 0; i < n / qk; i++, x += qk) {
        float amax = 0.0f;
        for (int j = 0; j < qk; j++)
            amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = floatToHalf(d);
        for (int j = 0; j < qk; ++j)
            y[i].qs[j] = int8_t(std::round(x[j] * id)); // roundf: half away from zero
    }
}

void dequantizeQ4_0(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ4_0*>(vx);
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = halfToFloat(x[i].d);
        for (int j = 0; j < qk / 2; ++j) {
            y[i * qk + j] = ((x[i].qs[j] & 0x0F) - 8) * d;
            y[i * qk + j + qk / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantizeQ4_1(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ4_1*>(vx);
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = halfToFloat(x[i].d), m = halfToFloat(x[i].m);
        for (int j = 0; j < qk / 2; ++j) {
            y[i * qk + j] = (x[i].qs[j] & 0x0F) * d + m;
            y[i * qk + j + qk / 2] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

namespace {
template <typename Block>
int code5(const Block& b, int j)
{
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof(qh));
    return j < qk / 2 ? ((b.qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) : ((b.qs[j - 16] >> 4) | ((qh >> (j - 16 + 12)) & 0x10));
}
} // namespace

void dequantizeQ5_0(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ5_0*>(vx);
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = halfToFloat(x[i].d);
        for (int j = 0; j < qk; ++j)
            y[i * qk + j] = (code5(x[i], j) - 16) * d;
    }
}

void dequantizeQ5_1(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ5_1*>(vx);
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = halfToFloat(x[i].d), m = halfToFloat(x[i].m);
        for (int j = 0; j < qk; ++j)
            y[i * qk + j] = code5(x[i], j) * d + m;
    }
}

void dequantizeQ8_0(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ8_0*>(vx);
    for (int64_t i = 0; i < n / qk; i++) {
        const float d = halfToFloat(x[i].d);
        for (int j = 0; j < qk; ++j)
            y[i * qk + j] = x[i].qs[j] * d;
    }
}

} // namespace tailor::gguf::kernels
