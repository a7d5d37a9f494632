// The 2-bit grid i-quants, as ggml-quants.c writes them: IQ2_XXS (per 32
// values: four indices into a 256-point grid of 8 magnitudes, 4 x 7 sign bits,
// a 4-bit scale), IQ2_XS (per 16 values: two 9-bit indices into a 512-point
// grid with 7 sign bits each, a 4-bit scale) and IQ2_S (a 1024-point grid, 8
// sign bits per 8 values). Groups of 8 magnitudes are rounded to the lattice
// {1,3,5}^8 and moved to the best nearby grid point when off the grid
// (ggml_iq_lattice.h); the scale is searched for the best weighted fit.
// IQ2_XXS and IQ2_XS need importance weights (ggml_quantize_requires_imatrix).
// Float operations in llama.cpp's order (compiled without contraction).
#include "ggml_block_layouts.h"
#include "ggml_fp16.h"
#include "ggml_iq_lattice.h"
#include "ggml_quant_search.h"
#include "ggml_quants_impl.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tailor::gguf::kernels {

namespace {

using lattice::Lattice;
using lattice::bestNeighbour;
using search::nearestInt;

constexpr int kMaxQ = 3; // levels 0..2 (values 1, 3, 5)
constexpr float kGroupMaxEps = 1e-15f;   // GROUP_MAX_EPS
constexpr float kGroupMaxEpsS = 1e-8f;   // GROUP_MAX_EPS_IQ2_S

void roundGroup(const float* xval, float id, int8_t* L)
{
    for (int i = 0; i < 8; ++i) {
        const int l = nearestInt(0.5f * (id * xval[i] - 1));
        L[i] = int8_t(std::max(0, std::min(kMaxQ - 1, l)));
    }
}

float sigma2Of(const float* x, float factor) { return factor * search::sumSquares(x, kQK_K) / kQK_K; }

void fit(int n, const float* weight, const float* xval, const int8_t* L, float& sumqx, float& sumq2)
{
    sumqx = 0, sumq2 = 0;
    for (int i = 0; i < n; ++i) {
        const float w = weight[i];
        const float q = float(2 * L[i] + 1);
        sumqx += w * xval[i] * q;
        sumq2 += w * q * q;
    }
}

// Magnitudes and sign bits of 8 values; with `evenSigns` (7 stored bits) an
// odd count of negatives flips the least important value instead.
uint8_t takeSigns(const float* xb, const float* weight, bool evenSigns, float* xval)
{
    int nflip = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
        if (xb[i] >= 0)
            xval[i] = xb[i];
        else {
            xval[i] = -xb[i];
            ++nflip;
            s |= uint8_t(1 << i);
        }
    }
    if (!evenSigns)
        return s;
    if (nflip % 2) {
        int imin = 0;
        float min = weight[0] * xb[0] * xb[0];
        for (int i = 1; i < 8; ++i) {
            const float ax = weight[i] * xb[i] * xb[i];
            if (ax < min) {
                min = ax;
                imin = i;
            }
        }
        xval[imin] = -xval[imin];
        s ^= uint8_t(1 << imin);
    }
    return s & 127;
}

// IQ2_XS and IQ2_S: one sub-block of 16 (two groups); the levels go to L,
// the grid indices to index[2]; returns the scale.
float searchPair(const Lattice& g, const float* xval, const float* weight, const float* waux, float max, int8_t* L, int* index)
{
    int8_t Laux[16];
    bool onGrid[2] = {true, true}, onGridAux[2];
    float best = 0;
    float scale = max / (2 * kMaxQ - 1);
    for (int is = -9; is <= 9; ++is) {
        const float id = (2 * kMaxQ - 1 + is * 0.1f) / max;
        const float thisScale = 1 / id;
        for (int k = 0; k < 2; ++k) {
            roundGroup(xval + 8 * k, id, Laux + 8 * k);
            const int u = lattice::codeOf(g, Laux + 8 * k);
            onGridAux[k] = g.map[std::size_t(u)] >= 0;
            if (!onGridAux[k])
                bestNeighbour(g, u, xval + 8 * k, waux + 8 * k, thisScale, Laux + 8 * k);
        }
        float sumqx, sumq2;
        fit(16, weight, xval, Laux, sumqx, sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            scale = sumqx / sumq2;
            best = scale * sumqx;
            std::copy(Laux, Laux + 16, L);
            std::copy(onGridAux, onGridAux + 2, onGrid);
        }
    }
    if ((!onGrid[0] || !onGrid[1]) && scale > 0) {
        const float id = 1 / scale;
        for (int k = 0; k < 2; ++k) {
            if (onGrid[k])
                continue;
            roundGroup(xval + 8 * k, id, L + 8 * k);
            const int u = lattice::codeOf(g, L + 8 * k);
            if (g.map[std::size_t(u)] < 0)
                bestNeighbour(g, u, xval + 8 * k, waux + 8 * k, scale, L + 8 * k);
        }
        float sumqx, sumq2;
        fit(16, weight, xval, L, sumqx, sumq2);
        if (sumq2 > 0)
            scale = sumqx / sumq2;
    }
    for (int k = 0; k < 2; ++k) {
        index[k] = g.map[std::size_t(lattice::codeOf(g, L + 8 * k))];
        if (index[k] < 0) // llama.cpp aborts here; L always comes from a grid point
            throw Error("IQ2 quantizer: a point off the grid");
    }
    return scale;
}

// 4-bit sub-block scales, two per byte, as IQ2_XS and IQ2_S store them.
void packScales(const float* scales, float id, uint8_t* out)
{
    for (int ib = 0; ib < kQK_K / 16; ++ib) {
        const int l = std::max(0, std::min(15, nearestInt(0.5f * (id * scales[ib] - 1))));
        if (ib % 2 == 0)
            out[ib / 2] = uint8_t(l);
        else
            out[ib / 2] |= uint8_t(l << 4);
    }
}

void requireWeights(const float* qw, const char* type)
{
    if (!qw) // ggml asserts; a caller of Tailor gets the reason
        throw Error(std::string(type) + " needs importance weights (an imatrix): llama.cpp does not quantize it without them");
}

} // namespace

void quantizeIQ2_XXS(const float* x, void* vy, int64_t n, const float* qw)
{
    requireWeights(qw, "IQ2_XXS");
    const Lattice& g = lattice::get(lattice::Kind::IQ2_XXS);
    auto* y = static_cast<BlockIQ2_XXS*>(vy);
    for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
        const float* xbl = x + kQK_K * ibl;
        BlockIQ2_XXS& b = y[ibl];
        b.d = floatToHalf(0.f);
        uint32_t q2[2 * (kQK_K / 32)] = {};
        float scales[kQK_K / 32];
        float maxScale = 0;
        const float sigma2 = sigma2Of(xbl, 1);
        for (int ib = 0; ib < kQK_K / 32; ++ib) {
            const float* xb = xbl + 32 * ib;
            const float* w = qw + kQK_K * ibl + 32 * ib;
            float weight[32], waux[32], xval[32];
            search::importanceWeights(xb, w, sigma2, 32, weight);
            for (int i = 0; i < 32; ++i)
                waux[i] = std::sqrt(weight[i]);
            uint8_t signs[4];
            for (int k = 0; k < 4; ++k)
                signs[k] = takeSigns(xb + 8 * k, weight + 8 * k, true, xval + 8 * k);
            float max = xval[0];
            for (int i = 1; i < 32; ++i)
                max = max > xval[i] ? max : xval[i];
            if (max < kGroupMaxEps) {
                scales[ib] = 0;
                continue;
            }
            int8_t L[32], Laux[32];
            float scale = search::makeQpQuants(32, kMaxQ + 1, xval, reinterpret_cast<uint8_t*>(L), weight);
            const float effMax = scale * kMaxQ;
            if (effMax <= 0) {
                scales[ib] = 0;
                continue;
            }
            float best = 0;
            for (int is = -6; is <= 6; ++is) {
                const float id = (2 * kMaxQ - 1 + is * 0.1f) / effMax;
                const float thisScale = 1 / id;
                for (int k = 0; k < 4; ++k) {
                    roundGroup(xval + 8 * k, id, Laux + 8 * k);
                    const int u = lattice::codeOf(g, Laux + 8 * k);
                    if (g.map[std::size_t(u)] < 0)
                        bestNeighbour(g, u, xval + 8 * k, waux + 8 * k, thisScale, Laux + 8 * k);
                }
                float sumqx, sumq2;
                fit(32, weight, xval, Laux, sumqx, sumq2);
                if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                    scale = sumqx / sumq2;
                    best = scale * sumqx;
                    std::copy(Laux, Laux + 32, L);
                }
            }
            if (scale > 0) { // every group again at the chosen scale
                const float id = 1 / scale;
                for (int k = 0; k < 4; ++k) {
                    int8_t l[8];
                    roundGroup(xval + 8 * k, id, l);
                    const int u = lattice::codeOf(g, l);
                    int gi = g.map[std::size_t(u)];
                    if (gi < 0)
                        gi = bestNeighbour(g, u, xval + 8 * k, waux + 8 * k, scale, L + 8 * k);
                    for (int i = 0; i < 8; ++i)
                        L[8 * k + i] = int8_t((g.point(gi)[i] - 1) / 2);
                }
                float sumqx, sumq2;
                fit(32, weight, xval, L, sumqx, sumq2);
                if (sumq2 > 0)
                    scale = sumqx / sumq2;
            }
            if (scale < 0) { // never, says llama.cpp; the scale is stored unsigned
                scale = -scale;
                for (uint8_t& s : signs)
                    s = uint8_t(~s) & 127;
            }
            for (int k = 0; k < 4; ++k) {
                const int gi = g.map[std::size_t(lattice::codeOf(g, L + 8 * k))];
                if (gi < 0)
                    throw Error("IQ2 quantizer: a point off the grid");
                q2[2 * ib] |= uint32_t(gi) << 8 * k;
                q2[2 * ib + 1] |= uint32_t(signs[k]) << 7 * k;
            }
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }
        if (!maxScale) {
            std::memset(b.qs, 0, sizeof b.qs);
            continue;
        }
        const float d = maxScale / 31;
        b.d = floatToHalf(d);
        const float id = 1 / d;
        for (int ib = 0; ib < kQK_K / 32; ++ib) {
            const int l = std::max(0, std::min(15, nearestInt(0.5f * (id * scales[ib] - 1))));
            q2[2 * ib + 1] |= uint32_t(l) << 28;
        }
        std::memcpy(b.qs, q2, sizeof b.qs);
    }
}

void quantizeIQ2_XS(const float* x, void* vy, int64_t n, const float* qw)
{
    requireWeights(qw, "IQ2_XS");
    const Lattice& g = lattice::get(lattice::Kind::IQ2_XS);
    auto* y = static_cast<BlockIQ2_XS*>(vy);
    for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
        const float* xbl = x + kQK_K * ibl;
        BlockIQ2_XS& b = y[ibl];
        b.d = floatToHalf(0.f);
        std::memset(b.scales, 0, sizeof b.scales);
        uint16_t q2[2 * (kQK_K / 16)] = {};
        float scales[kQK_K / 16];
        float maxScale = 0;
        const float sigma2 = sigma2Of(xbl, 1);
        for (int ib = 0; ib < kQK_K / 16; ++ib) {
            const float* xb = xbl + 16 * ib;
            const float* w = qw + kQK_K * ibl + 16 * ib;
            float weight[16], waux[16], xval[16];
            search::importanceWeights(xb, w, sigma2, 16, weight);
            for (int i = 0; i < 16; ++i)
                waux[i] = std::sqrt(weight[i]);
            uint8_t signs[2];
            for (int k = 0; k < 2; ++k)
                signs[k] = takeSigns(xb + 8 * k, weight + 8 * k, true, xval + 8 * k);
            float max = xval[0];
            for (int i = 1; i < 16; ++i)
                max = max > xval[i] ? max : xval[i];
            if (max < kGroupMaxEps) {
                scales[ib] = 0;
                continue;
            }
            int8_t L[16] = {};
            int index[2];
            float scale = searchPair(g, xval, weight, waux, max, L, index);
            if (scale < 0) {
                scale = -scale;
                for (uint8_t& s : signs)
                    s = uint8_t(~s) & 127;
            }
            for (int k = 0; k < 2; ++k)
                q2[2 * ib + k] = uint16_t(index[k] | (signs[k] << 9));
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }
        if (!maxScale) {
            std::memset(b.qs, 0, sizeof b.qs);
            continue;
        }
        const float d = maxScale / 31;
        b.d = floatToHalf(d);
        packScales(scales, 1 / d, b.scales);
        std::memcpy(b.qs, q2, sizeof b.qs);
    }
}

void quantizeIQ2_S(const float* x, void* vy, int64_t n, const float* qw)
{
    const Lattice& g = lattice::get(lattice::Kind::IQ2_S);
    auto* y = static_cast<BlockIQ2_S*>(vy);
    for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
        const float* xbl = x + kQK_K * ibl;
        BlockIQ2_S& b = y[ibl];
        std::memset(&b, 0, sizeof b);
        float scales[kQK_K / 16];
        float maxScale = 0;
        const float sigma2 = sigma2Of(xbl, 2);
        for (int ib = 0; ib < kQK_K / 16; ++ib) {
            const float* xb = xbl + 16 * ib;
            float weight[16], waux[16], xval[16];
            if (qw) {
                const float* w = qw + kQK_K * ibl + 16 * ib;
                search::importanceWeights(xb, w, sigma2, 16, weight);
            } else {
                for (int i = 0; i < 16; ++i)
                    weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
            }
            for (int i = 0; i < 16; ++i)
                waux[i] = std::sqrt(weight[i]);
            uint8_t signs[2];
            for (int k = 0; k < 2; ++k)
                signs[k] = takeSigns(xb + 8 * k, weight + 8 * k, false, xval + 8 * k);
            float max = xval[0];
            for (int i = 1; i < 16; ++i)
                max = max > xval[i] ? max : xval[i];
            if (max < kGroupMaxEpsS) {
                scales[ib] = 0;
                continue;
            }
            int8_t L[16] = {};
            int index[2];
            float scale = searchPair(g, xval, weight, waux, max, L, index);
            if (scale < 0) {
                scale = -scale;
                for (uint8_t& s : signs)
                    s = uint8_t(~s);
            }
            for (int k = 0; k < 2; ++k) {
                const int i8 = 2 * ib + k;
                b.qs[i8] = uint8_t(index[k] & 255);
                b.qh[i8 / 4] |= uint8_t((index[k] >> 8) << 2 * (i8 % 4));
                b.qs[kQK_K / 8 + i8] = signs[k];
            }
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }
        if (!maxScale)
            continue;
        const float d = maxScale / 31;
        b.d = floatToHalf(d * 0.9875f); // llama.cpp's fudge factor
        packScales(scales, 1 / d, b.scales);
    }
}

} // namespace tailor::gguf::kernels
