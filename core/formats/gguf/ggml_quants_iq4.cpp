// The 4-bit non-linear types IQ4_NL (blocks of 32, one fp16 scale) and IQ4_XS
// (super-blocks of 256: an fp16 scale and a 6-bit scale per 32), as
// ggml-quants.c's quantize_row_iq4_nl_impl writes them: each value is the
// index of the nearest of 16 fixed levels (kvalues_iq4nl), the block scale
// searched over 15 candidates for the best weighted fit. Float operations in
// llama.cpp's order (compiled without contraction, see core/CMakeLists.txt).
#include "ggml_block_layouts.h"
#include "ggml_quants_impl.h"
#include "ggml_fp16.h"
#include "ggml_quant_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tailor::gguf::kernels {

namespace {

constexpr const int8_t (&kLevels)[16] = kIQ4Levels; // the format's levels (ggml_block_layouts.h)
constexpr float kGroupMaxEps = 1e-15f;
constexpr int kTries = 7; // ggml_quantize_chunk's search width for both types

// The level nearest x (ties to the upper one unless strictly closer below), by bisection.
int nearestLevel(float x)
{
    if (x <= kLevels[0])
        return 0;
    if (x >= kLevels[15])
        return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (x < kLevels[mid])
            hi = mid;
        else
            lo = mid;
    }
    return x - kLevels[hi - 1] < kLevels[hi] - x ? hi - 1 : hi;
}

// One super-block of `n` values (32 for IQ4_NL, 256 for IQ4_XS) in sub-blocks
// of 32: scales, the indices L, and for IQ4_XS the packed 6-bit scales.
void quantizeSuperBlock(int n, const float* x, uint16_t* dh, uint8_t* q4, uint16_t* scalesH, uint8_t* scalesL, const float* qw)
{
    constexpr int bs = 32;
    float scales[kQK_K / bs];
    float weight[bs];
    uint8_t L[kQK_K];
    float sigma2 = 0;
    for (int j = 0; j < n; ++j)
        sigma2 += x[j] * x[j];
    sigma2 *= 2.f / n;
    std::memset(q4, 0, std::size_t(n / 2));
    *dh = floatToHalf(0.f);
    float maxScale = 0, amaxScale = 0;
    for (int ib = 0; ib < n / bs; ++ib) {
        const float* xb = x + ib * bs;
        uint8_t* Lb = L + ib * bs;
        if (qw)
            for (int j = 0; j < bs; ++j)
                weight[j] = qw[ib * bs + j] * std::sqrt(sigma2 + xb[j] * xb[j]);
        else
            for (int j = 0; j < bs; ++j)
                weight[j] = xb[j] * xb[j];
        float amax = 0, max = 0;
        for (int j = 0; j < bs; ++j) {
            const float ax = std::fabs(xb[j]);
            if (ax > amax) {
                amax = ax;
                max = xb[j];
            }
        }
        if (amax < kGroupMaxEps) {
            scales[ib] = 0;
            continue;
        }
        float d = -max / kLevels[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < bs; ++j) {
            const float al = id * xb[j];
            const int l = nearestLevel(al);
            Lb[j] = uint8_t(l);
            const float q = kLevels[l];
            const float w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
        float best = d * sumqx;
        for (int itry = -kTries; itry <= kTries; ++itry) {
            id = (itry + kLevels[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < bs; ++j) {
                const float al = id * xb[j];
                const int l = nearestLevel(al);
                const float q = kLevels[l];
                const float w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        const float absD = std::fabs(d);
        if (absD > amaxScale) {
            amaxScale = absD;
            maxScale = d;
        }
    }
    if (n / bs > 1) {
        const int nb = n / bs;
        std::memset(scalesH, 0, std::size_t((nb + 7) / 8) * sizeof(uint16_t));
        const float d = -maxScale / 32;
        *dh = floatToHalf(d);
        const float id = d ? 1 / d : 0.f;
        for (int ib = 0; ib < nb; ++ib) {
            int l = search::nearestInt(id * scales[ib]);
            l = std::max(-32, std::min(31, l));
            const float dl = d * l;
            const float idl = dl ? 1 / dl : 0.f;
            uint8_t* Lb = L + ib * bs;
            const float* xb = x + ib * bs;
            for (int j = 0; j < bs; ++j)
                Lb[j] = uint8_t(nearestLevel(idl * xb[j]));
            l += 32;
            const uint8_t lLow = uint8_t(l & 0xf), lHigh = uint8_t(l >> 4);
            if (ib % 2 == 0)
                scalesL[ib / 2] = lLow;
            else
                scalesL[ib / 2] |= uint8_t(lLow << 4);
            scalesH[ib / 8] |= uint16_t(lHigh << 2 * (ib % 8));
        }
    } else {
        *dh = floatToHalf(scales[0]);
        const float id = scales[0] ? 1 / scales[0] : 0;
        for (int j = 0; j < n; ++j)
            L[j] = uint8_t(nearestLevel(id * x[j]));
    }
    for (int i = 0; i < n / 32; ++i)
        for (int j = 0; j < 16; ++j)
            q4[16 * i + j] = uint8_t(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

} // namespace

void quantizeIQ4_NL(const float* x, void* y, int64_t n, const float* qw)
{
    auto* b = static_cast<BlockIQ4_NL*>(y);
    uint16_t unusedH = 0;
    for (int64_t i = 0; i < n / 32; ++i)
        quantizeSuperBlock(32, x + 32 * i, &b[i].d, b[i].qs, &unusedH, nullptr, qw ? qw + 32 * i : nullptr);
}

void quantizeIQ4_XS(const float* x, void* y, int64_t n, const float* qw)
{
    auto* b = static_cast<BlockIQ4_XS*>(y);
    for (int64_t i = 0; i < n / kQK_K; ++i)
        quantizeSuperBlock(int(kQK_K), x + kQK_K * i, &b[i].d, b[i].qs, &b[i].scales_h, b[i].scales_l, qw ? qw + kQK_K * i : nullptr);
}

void dequantizeIQ4_NL(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ4_NL*>(x);
    for (int64_t i = 0; i < n / 32; ++i, y += 32) {
        const float d = halfToFloat(b[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = d * kLevels[b[i].qs[j] & 0xf];
            y[j + 16] = d * kLevels[b[i].qs[j] >> 4];
        }
    }
}

void dequantizeIQ4_XS(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ4_XS*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        const uint8_t* qs = b[i].qs;
        for (int ib = 0; ib < int(kQK_K / 32); ++ib, y += 32, qs += 16) {
            const int ls = ((b[i].scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((b[i].scales_h >> 2 * ib) & 3) << 4);
            const float dl = d * float(ls - 32);
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * kLevels[qs[j] & 0xf];
                y[j + 16] = dl * kLevels[qs[j] >> 4];
            }
        }
    }
}

} // namespace tailor::gguf::kernels
