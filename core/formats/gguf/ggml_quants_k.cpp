// The 256-element super-block formats: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K
// (ggml-quants.c's quantize_row_*_K_ref without an importance matrix,
// quantize_row_*_K_impl with one): sub-block scales (and mins) found per 16 or
// 32 elements, themselves quantized to 4 or 6 bits against fp16 super-scales,
// then every element re-rounded against the scale it will actually get.
#include "ggml_block_layouts.h"
#include "ggml_quants_impl.h"
#include "ggml_scales.h"
#include "ggml_fp16.h"
#include "ggml_quant_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tailor::gguf::kernels {

using namespace search;

namespace {
constexpr int QK = kQK_K;
// block layouts: ggml_block_layouts.h

// four 2-bit codes per byte: element j + 32k in bits 2k of byte j (per 128)
void pack2(uint8_t* qs, const uint8_t* L)
{
    for (int j = 0; j < QK; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

// Q4_K/Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes
void packScaleMin(uint8_t* scales, int j, uint8_t ls, uint8_t lm)
{
    if (j < 4) {
        scales[j] = ls;
        scales[j + 4] = lm;
    } else {
        scales[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
        scales[j - 4] |= uint8_t((ls >> 4) << 6);
        scales[j - 0] |= uint8_t((lm >> 4) << 6);
    }
}


// Q3_K: 16 six-bit signed scales (stored + 32) in 12 bytes
void packScale3(uint8_t* scales, int j, int l)
{
    if (j < 8)
        scales[j] = uint8_t(l & 0xF);
    else
        scales[j - 8] |= uint8_t((l & 0xF) << 4);
    l >>= 4;
    scales[j % 4 + 8] |= uint8_t(l << (2 * (j / 4)));
}

int8_t scale3(const uint8_t* scales, int j)
{
    int8_t sc = int8_t(j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4);
    return int8_t((sc | (((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
}

// the final codes of a 4/5-bit asymmetric super-block, against the stored scales
void requantizeAsym(const float* x, const uint16_t d16, const uint16_t dmin16, const uint8_t* scales, int nmax, uint8_t* L)
{
    uint8_t sc, m;
    for (int j = 0; j < QK / 32; ++j) {
        scaleMinK4(j, scales, &sc, &m);
        const float d = halfToFloat(d16) * sc;
        if (!d)
            continue;
        const float dm = halfToFloat(dmin16) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = nearestInt((x[32 * j + ii] + dm) / d);
            l = std::max(0, std::min(nmax, l));
            L[32 * j + ii] = uint8_t(l);
        }
    }
}

void packQ5(BlockQ5_K& y, const uint8_t* L)
{
    uint8_t* qh = y.qh;
    uint8_t* ql = y.qs;
    std::memset(qh, 0, QK / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < QK; n += 64) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j];
            if (l1 > 15) {
                l1 -= 16;
                qh[j] |= m1;
            }
            int l2 = L[n + j + 32];
            if (l2 > 15) {
                l2 -= 16;
                qh[j] |= m2;
            }
            ql[j] = uint8_t(l1 | (l2 << 4));
        }
        m1 <<= 2;
        m2 <<= 2;
        ql += 32;
    }
}
} // namespace

void quantizeQ2_K(const float* x, void* vy, int64_t n, const float* qw)
{
    auto* y = static_cast<BlockQ2_K*>(vy);
    uint8_t L[QK], Laux[16], Ls[QK / 16], Lm[QK / 16];
    float weights[16], mins[QK / 16], scales[QK / 16], sw[QK / 16];
    const float q4scale = 15.f;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        if (!qw) {
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < QK / 16; ++j) {
                for (int l = 0; l < 16; ++l)
                    weights[l] = std::fabs(x[16 * j + l]);
                scales[j] = makeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
                if (scales[j] > maxScale)
                    maxScale = scales[j];
                if (mins[j] > maxMin)
                    maxMin = mins[j];
            }
            if (maxScale > 0) {
                const float iscale = q4scale / maxScale;
                for (int j = 0; j < QK / 16; ++j)
                    y[i].scales[j] = uint8_t(nearestInt(iscale * scales[j]));
                y[i].d = floatToHalf(maxScale / q4scale);
            } else {
                std::fill(y[i].scales, y[i].scales + QK / 16, uint8_t(0));
                y[i].d = floatToHalf(0.f);
            }
            if (maxMin > 0) {
                const float iscale = q4scale / maxMin;
                for (int j = 0; j < QK / 16; ++j)
                    y[i].scales[j] |= uint8_t(nearestInt(iscale * mins[j]) << 4);
                y[i].dmin = floatToHalf(maxMin / q4scale);
            } else {
                y[i].dmin = floatToHalf(0.f);
            }
        } else {
            std::fill(sw, sw + QK / 16, 0.f);
            const float sigma2 = sumSquares(x, QK) / QK;
            for (int j = 0; j < QK / 16; ++j) {
                const float* w = qw + QK * i + 16 * j;
                importanceWeights(x + 16 * j, w, sigma2, 16, weights);
                for (int l = 0; l < QK / 16; ++l)
                    sw[j] += weights[l];
                scales[j] = makeQkx3Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
            }
            const float dm = makeQpQuants(QK / 16, 15, scales, Ls, sw);
            const float mm = makeQpQuants(QK / 16, 15, mins, Lm, sw);
            y[i].d = floatToHalf(dm);
            y[i].dmin = floatToHalf(mm);
            for (int j = 0; j < QK / 16; ++j)
                y[i].scales[j] = uint8_t(Ls[j] | (Lm[j] << 4));
        }
        for (int j = 0; j < QK / 16; ++j) {
            const float d = halfToFloat(y[i].d) * (y[i].scales[j] & 0xF);
            if (!d)
                continue;
            const float dm = halfToFloat(y[i].dmin) * (y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt((x[16 * j + ii] + dm) / d);
                l = std::max(0, std::min(3, l));
                L[16 * j + ii] = uint8_t(l);
            }
        }
        pack2(y[i].qs, L);
    }
}

void quantizeQ3_K(const float* x, void* vy, int64_t n, const float* qw)
{
    auto* y = static_cast<BlockQ3_K*>(vy);
    int8_t L[QK], Ls[QK / 16];
    float scales[QK / 16], weight[16], sw[QK / 16];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        std::memset(y[i].scales, 0, 12);
        if (!qw) {
            float maxScale = 0, amax = 0;
            for (int j = 0; j < QK / 16; ++j) {
                scales[j] = makeQ3Quants(16, 4, x + 16 * j, L + 16 * j, true);
                const float scale = std::fabs(scales[j]);
                if (scale > amax) {
                    amax = scale;
                    maxScale = scales[j];
                }
            }
            if (maxScale) {
                const float iscale = -32.f / maxScale;
                for (int j = 0; j < QK / 16; ++j) {
                    int8_t l = int8_t(nearestInt(iscale * scales[j]));
                    l = int8_t(std::max(-32, std::min(31, int(l))) + 32);
                    packScale3(y[i].scales, j, l);
                }
                y[i].d = floatToHalf(1 / iscale);
            } else {
                y[i].d = floatToHalf(0.f);
            }
        } else {
            const float sigma2 = 2 * sumSquares(x, QK) / QK;
            for (int j = 0; j < QK / 16; ++j) {
                const float* w = qw + QK * i + 16 * j;
                importanceWeights(x + 16 * j, w, sigma2, 16, weight);
                float sumw = 0;
                for (int l = 0; l < 16; ++l)
                    sumw += weight[l];
                sw[j] = sumw;
                scales[j] = makeQxQuants(16, 4, x + 16 * j, L + 16 * j, 1, weight);
            }
            const float dBlock = makeQxQuants(QK / 16, 32, scales, Ls, 1, sw);
            for (int j = 0; j < QK / 16; ++j)
                packScale3(y[i].scales, j, Ls[j]);
            y[i].d = floatToHalf(dBlock);
        }
        for (int j = 0; j < QK / 16; ++j) {
            const float d = halfToFloat(y[i].d) * scale3(y[i].scales, j);
            if (!d)
                continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[16 * j + ii] / d);
                l = std::max(-4, std::min(3, l));
                L[16 * j + ii] = int8_t(l + 4);
            }
        }
        // high bit of element j in bit (j / 32) of hmask[j % 32]
        std::memset(y[i].hmask, 0, QK / 8);
        int m = 0;
        uint8_t hm = 1;
        for (int j = 0; j < QK; ++j) {
            if (L[j] > 3) {
                y[i].hmask[m] |= hm;
                L[j] = int8_t(L[j] - 4);
            }
            if (++m == QK / 8) {
                m = 0;
                hm <<= 1;
            }
        }
        pack2(y[i].qs, reinterpret_cast<const uint8_t*>(L));
    }
}

namespace {
// Q4_K and Q5_K share everything but nmax and the search parameters
template <typename Block>
void quantizeAsymK(const float* x, Block* y, int64_t n, const float* qw, int nmax, float rmin2, float rdelta2, int nstep2,
                   bool clampImatrixCodes)
{
    uint8_t L[QK], Laux[32], Ls[QK / 32], Lm[QK / 32];
    float weights[32], mins[QK / 32], scales[QK / 32], sw[QK / 32];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        std::memset(y[i].scales, 0, 12);
        if (!qw) {
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < QK / 32; ++j) {
                const float sumX2 = sumSquares(x + 32 * j, 32);
                const float avX = std::sqrt(sumX2 / 32);
                for (int l = 0; l < 32; ++l)
                    weights[l] = avX + std::fabs(x[32 * j + l]);
                scales[j] = makeQkx2Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin2, rdelta2, nstep2, false);
                if (scales[j] > maxScale)
                    maxScale = scales[j];
                if (mins[j] > maxMin)
                    maxMin = mins[j];
            }
            const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
            const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
            for (int j = 0; j < QK / 32; ++j) {
                uint8_t ls = uint8_t(nearestInt(invScale * scales[j]));
                uint8_t lm = uint8_t(nearestInt(invMin * mins[j]));
                packScaleMin(y[i].scales, j, std::min<uint8_t>(63, ls), std::min<uint8_t>(63, lm));
            }
            y[i].d = floatToHalf(maxScale / 63.f);
            y[i].dmin = floatToHalf(maxMin / 63.f);
        } else {
            const float sigma2 = 2 * sumSquares(x, QK) / QK;
            for (int j = 0; j < QK / 32; ++j) {
                const float* w = qw + QK * i + 32 * j;
                importanceWeights(x + 32 * j, w, sigma2, 32, weights);
                float sumw = 0;
                for (int l = 0; l < 32; ++l)
                    sumw += weights[l];
                sw[j] = sumw;
                scales[j] = makeQkx3Quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
            }
            const float dBlock = makeQpQuants(QK / 32, 63, scales, Ls, sw);
            const float mBlock = makeQpQuants(QK / 32, 63, mins, Lm, sw);
            for (int j = 0; j < QK / 32; ++j)
                packScaleMin(y[i].scales, j, clampImatrixCodes ? std::min<uint8_t>(63, Ls[j]) : Ls[j],
                             clampImatrixCodes ? std::min<uint8_t>(63, Lm[j]) : Lm[j]); // only Q5_K clamps here
            y[i].d = floatToHalf(dBlock);
            y[i].dmin = floatToHalf(mBlock);
        }
        requantizeAsym(x, y[i].d, y[i].dmin, y[i].scales, nmax, L);
        if constexpr (sizeof(Block) == sizeof(BlockQ4_K)) {
            uint8_t* q = y[i].qs;
            for (int j = 0; j < QK; j += 64, q += 32)
                for (int l = 0; l < 32; ++l)
                    q[l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
        } else {
            packQ5(y[i], L);
        }
    }
}
} // namespace

void quantizeQ4_K(const float* x, void* vy, int64_t n, const float* qw)
{
    quantizeAsymK(x, static_cast<BlockQ4_K*>(vy), n, qw, 15, -1.f, 0.1f, 20, false);
}

void quantizeQ5_K(const float* x, void* vy, int64_t n, const float* qw)
{
    quantizeAsymK(x, static_cast<BlockQ5_K*>(vy), n, qw, 31, -0.5f, 0.1f, 15, true);
}

void quantizeQ6_K(const float* x, void* vy, int64_t n, const float* qw)
{
    auto* y = static_cast<BlockQ6_K*>(vy);
    int8_t L[QK];
    float scales[QK / 16];
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < QK / 16; ++ib) {
            // with an imatrix, Q6_K takes the importance weights as they are (no sigma term)
            const float scale = makeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, 1, qw ? qw + QK * i + 16 * ib : nullptr);
            scales[ib] = scale;
            const float absScale = std::fabs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }
        if (maxAbsScale < kGroupMaxEps) {
            std::memset(&y[i], 0, sizeof(BlockQ6_K));
            y[i].d = floatToHalf(0.f);
            continue;
        }
        const float iscale = -128.f / maxScale;
        y[i].d = floatToHalf(1 / iscale);
        for (int ib = 0; ib < QK / 16; ++ib)
            y[i].scales[ib] = int8_t(std::min(127, nearestInt(iscale * scales[ib])));
        for (int j = 0; j < QK / 16; ++j) {
            const float d = halfToFloat(y[i].d) * y[i].scales[j];
            if (!d)
                continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearestInt(x[16 * j + ii] / d);
                l = std::max(-32, std::min(31, l));
                L[16 * j + ii] = int8_t(l + 32);
            }
        }
        uint8_t* ql = y[i].ql;
        uint8_t* qh = y[i].qh;
        for (int j = 0; j < QK; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = uint8_t(q1 | (q3 << 4));
                ql[l + 32] = uint8_t(q2 | (q4 << 4));
                qh[l] = uint8_t((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

void dequantizeQ2_K(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ2_K*>(vx);
    for (int64_t i = 0; i < n / QK; i++) {
        const float d = halfToFloat(x[i].d), min = halfToFloat(x[i].dmin);
        const uint8_t* q = x[i].qs;
        int is = 0;
        for (int nn = 0; nn < QK; nn += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * int8_t((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

void dequantizeQ3_K(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ3_K*>(vx);
    for (int64_t i = 0; i < n / QK; i++) {
        const float dAll = halfToFloat(x[i].d);
        const uint8_t* q = x[i].qs;
        const uint8_t* hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int nn = 0; nn < QK; nn += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; ++half) {
                    const float dl = dAll * scale3(x[i].scales, is++);
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * (int8_t((q[l + 16 * half] >> shift) & 3) - ((hm[l + 16 * half] & m) ? 0 : 4));
                }
            }
        }
    }
}

namespace {
template <typename Block>
void dequantizeAsymK(const Block* x, float* y, int64_t n)
{
    for (int64_t i = 0; i < n / QK; i++) {
        const float d = halfToFloat(x[i].d), min = halfToFloat(x[i].dmin);
        const uint8_t* q = x[i].qs;
        int is = 0;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0; j < QK; j += 64, q += 32, is += 2, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            scaleMinK4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scaleMinK4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            if constexpr (sizeof(Block) == sizeof(BlockQ4_K)) {
                for (int l = 0; l < 32; ++l)
                    *y++ = d1 * (q[l] & 0xF) - m1;
                for (int l = 0; l < 32; ++l)
                    *y++ = d2 * (q[l] >> 4) - m2;
            } else {
                for (int l = 0; l < 32; ++l)
                    *y++ = d1 * ((q[l] & 0xF) + (x[i].qh[l] & u1 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; ++l)
                    *y++ = d2 * ((q[l] >> 4) + (x[i].qh[l] & u2 ? 16 : 0)) - m2;
            }
        }
    }
}
} // namespace

void dequantizeQ4_K(const void* vx, float* y, int64_t n)
{
    dequantizeAsymK(static_cast<const BlockQ4_K*>(vx), y, n);
}

void dequantizeQ5_K(const void* vx, float* y, int64_t n)
{
    dequantizeAsymK(static_cast<const BlockQ5_K*>(vx), y, n);
}

void dequantizeQ6_K(const void* vx, float* y, int64_t n)
{
    const auto* x = static_cast<const BlockQ6_K*>(vx);
    for (int64_t i = 0; i < n / QK; i++) {
        const float d = halfToFloat(x[i].d);
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* sc = x[i].scales;
        for (int nn = 0; nn < QK; nn += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int8_t q1 = int8_t(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                const int8_t q2 = int8_t(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                const int8_t q3 = int8_t(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                const int8_t q4 = int8_t(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

} // namespace tailor::gguf::kernels
