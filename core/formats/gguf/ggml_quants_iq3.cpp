// The 3-bit grid i-quants IQ3_XXS (super-blocks of 256: an fp16 scale, per 32
// values a 4-bit scale and 4 x 7 sign bits, per 4 values an index into a
// 256-point grid) and IQ3_S (a 512-point grid, 8 sign bits per 8 values), as
// ggml-quants.c's quantize_row_iq3_xxs_impl / quantize_row_iq3_s_impl write
// them. Each group of 4 magnitudes is rounded to the lattice {1,3,..,15}^4;
// when that point is not in the grid, the best of its precomputed nearest grid
// points is taken (ggml_iq_lattice.h). The sub-block scale is searched over 31 or
// 19 candidates for the best weighted fit. Float operations in llama.cpp's
// order (compiled without contraction, see core/CMakeLists.txt).
#include "ggml_block_layouts.h"
#include "ggml_fp16.h"
#include "ggml_iq_lattice.h"
#include "ggml_quant_search.h"
#include "ggml_quants_impl.h"
#include "core/util/error.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

namespace tailor::gguf::kernels {

namespace {

using search::nearestInt;

constexpr int kMaxQ = 8;             // levels per coordinate: 2l + 1, l in 0..7
constexpr float kGroupMaxEpsXXS = 1e-8f; // GROUP_MAX_EPS_IQ3_XXS

using lattice::Lattice;
using lattice::bestNeighbour;

int codeOf(const int8_t* L)
{
    int u = 0;
    for (int i = 0; i < 4; ++i)
        u |= L[i] << 3 * i;
    return u;
}

// Levels of 4 magnitudes at inverse scale id, clamped to 0..7.
void roundGroup(const float* xval, float id, int8_t* L)
{
    for (int i = 0; i < 4; ++i) {
        const int l = nearestInt(0.5f * (id * xval[i] - 1));
        L[i] = int8_t(std::max(0, std::min(kMaxQ - 1, l)));
    }
}

// One sub-block of 32 values: the magnitudes xval (signs already taken out),
// weights, their square roots; the levels go to L, the grid indices to
// index[8]; returns the scale. `refineAll`: IQ3_S re-rounds every group after
// the search, IQ3_XXS only those that were off the grid.
float searchSubBlock(const Lattice& g, const float* xval, const float* weight, const float* waux, float max, int tries,
                     bool refineAll, int8_t* L, int* index)
{
    int8_t Laux[32];
    bool onGrid[8], onGridAux[8];
    float best = 0;
    float scale = max / (2 * kMaxQ - 1);
    std::fill(onGrid, onGrid + 8, !refineAll); // IQ3_S starts "off" (it refines all anyway)
    for (int is = -tries; is <= tries; ++is) {
        const float id = (2 * kMaxQ - 1 + is * 0.2f) / max;
        const float thisScale = 1 / id;
        for (int k = 0; k < 8; ++k) {
            roundGroup(xval + 4 * k, id, Laux + 4 * k);
            const int u = codeOf(Laux + 4 * k);
            onGridAux[k] = g.map[std::size_t(u)] >= 0;
            if (!onGridAux[k])
                bestNeighbour(g, u, xval + 4 * k, waux + 4 * k, thisScale, Laux + 4 * k);
        }
        float sumqx = 0, sumq2 = 0;
        for (int i = 0; i < 32; ++i) {
            const float w = weight[i];
            const float q = float(2 * Laux[i] + 1);
            sumqx += w * xval[i] * q;
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            scale = sumqx / sumq2;
            best = scale * sumqx;
            std::copy(Laux, Laux + 32, L);
            std::copy(onGridAux, onGridAux + 8, onGrid);
        }
    }
    const bool anyOff = std::find(onGrid, onGrid + 8, false) != onGrid + 8;
    if (anyOff && scale > 0) {
        const float id = 1 / scale;
        for (int k = 0; k < 8; ++k) {
            if (onGrid[k] && !refineAll)
                continue;
            int8_t l[4];
            roundGroup(xval + 4 * k, id, l);
            const int u = codeOf(l);
            int gi = g.map[std::size_t(u)];
            if (gi < 0)
                gi = bestNeighbour(g, u, xval + 4 * k, waux + 4 * k, scale, L + 4 * k);
            for (int i = 0; i < 4; ++i)
                L[4 * k + i] = int8_t((g.point(gi)[i] - 1) / 2);
        }
        float sumqx = 0, sumq2 = 0;
        for (int i = 0; i < 32; ++i) {
            const float w = weight[i];
            const float q = float(2 * L[i] + 1);
            sumqx += w * xval[i] * q;
            sumq2 += w * q * q;
        }
        if (sumq2 > 0)
            scale = sumqx / sumq2;
    }
    for (int k = 0; k < 8; ++k) {
        index[k] = g.map[std::size_t(codeOf(L + 4 * k))];
        if (index[k] < 0) // llama.cpp aborts here; it cannot happen (L always comes from a grid point)
            throw Error("IQ3 quantizer: a point off the grid");
    }
    return scale;
}

// The weights of a sub-block: with importance qw_j * sqrt(sigma2 + x_j^2), else x_j^2.
void subBlockWeights(const float* xb, const float* qw, float sigma2, float* weight, float* waux)
{
    for (int i = 0; i < 32; ++i)
        weight[i] = qw ? qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]) : xb[i] * xb[i];
    for (int i = 0; i < 32; ++i)
        waux[i] = std::sqrt(weight[i]);
}

float sigma2Of(const float* x) { return 2 * search::sumSquares(x, kQK_K) / kQK_K; }

} // namespace

void quantizeIQ3_XXS(const float* x, void* vy, int64_t n, const float* qw)
{
    const Lattice& g = lattice::get(lattice::Kind::IQ3_XXS);
    auto* y = static_cast<BlockIQ3_XXS*>(vy);
    for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
        const float* xbl = x + kQK_K * ibl;
        const float* qbl = qw ? qw + kQK_K * ibl : nullptr;
        BlockIQ3_XXS& b = y[ibl];
        std::memset(&b, 0, sizeof b);
        uint32_t scalesAndSigns[kQK_K / 32] = {};
        float scales[kQK_K / 32];
        float maxScale = 0;
        const float sigma2 = sigma2Of(xbl);
        for (int ib = 0; ib < kQK_K / 32; ++ib) {
            const float* xb = xbl + 32 * ib;
            float weight[32], waux[32], xval[32];
            subBlockWeights(xb, qbl ? qbl + 32 * ib : nullptr, sigma2, weight, waux);
            uint8_t signs[4];
            for (int k = 0; k < 4; ++k) {
                // 7 sign bits per 8 values: an odd count of negatives flips the
                // least important value instead (its sign is implied by parity)
                int nflip = 0;
                uint8_t s = 0;
                for (int i = 0; i < 8; ++i) {
                    if (xb[8 * k + i] >= 0)
                        xval[8 * k + i] = xb[8 * k + i];
                    else {
                        xval[8 * k + i] = -xb[8 * k + i];
                        ++nflip;
                        s |= uint8_t(1 << i);
                    }
                }
                if (nflip % 2) {
                    int imin = 0;
                    float min = weight[8 * k] * xb[8 * k] * xb[8 * k];
                    for (int i = 1; i < 8; ++i) {
                        const float ax = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
                        if (ax < min) {
                            min = ax;
                            imin = i;
                        }
                    }
                    xval[8 * k + imin] = -xval[8 * k + imin];
                    s ^= uint8_t(1 << imin);
                }
                signs[k] = s & 127;
            }
            float max = xval[0];
            for (int i = 1; i < 32; ++i)
                max = max > xval[i] ? max : xval[i];
            if (max < kGroupMaxEpsXXS) {
                scales[ib] = 0;
                continue;
            }
            int8_t L[32] = {};
            int index[8];
            float scale = searchSubBlock(g, xval, weight, waux, max, 15, false, L, index);
            if (scale < 0) { // never, says llama.cpp; the scale is stored unsigned
                scale = -scale;
                for (uint8_t& s : signs)
                    s = uint8_t(~s) & 127;
            }
            for (int k = 0; k < 8; ++k)
                b.qs[8 * ib + k] = uint8_t(index[k]);
            scalesAndSigns[ib] = signs[0] | (signs[1] << 7) | (signs[2] << 14) | (uint32_t(signs[3]) << 21);
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }
        if (!maxScale) {
            std::memset(&b, 0, sizeof b);
            continue;
        }
        const float d = maxScale / 31;
        b.d = floatToHalf(d * 1.0125f); // llama.cpp's fudge factor
        const float id = 1 / d;
        for (int ib = 0; ib < kQK_K / 32; ++ib) {
            const int l = std::max(0, std::min(15, nearestInt(0.5f * (id * scales[ib] - 1))));
            scalesAndSigns[ib] |= uint32_t(l) << 28;
        }
        std::memcpy(b.qs + kQK_K / 4, scalesAndSigns, sizeof scalesAndSigns);
    }
}

void quantizeIQ3_S(const float* x, void* vy, int64_t n, const float* qw)
{
    const Lattice& g = lattice::get(lattice::Kind::IQ3_S);
    auto* y = static_cast<BlockIQ3_S*>(vy);
    for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
        const float* xbl = x + kQK_K * ibl;
        const float* qbl = qw ? qw + kQK_K * ibl : nullptr;
        BlockIQ3_S& b = y[ibl];
        std::memset(&b, 0, sizeof b);
        float scales[kQK_K / 32];
        float maxScale = 0;
        const float sigma2 = sigma2Of(xbl);
        for (int ib = 0; ib < kQK_K / 32; ++ib) {
            const float* xb = xbl + 32 * ib;
            float weight[32], waux[32], xval[32];
            subBlockWeights(xb, qbl ? qbl + 32 * ib : nullptr, sigma2, weight, waux);
            uint8_t signs[4];
            for (int k = 0; k < 4; ++k) {
                uint8_t s = 0;
                for (int i = 0; i < 8; ++i) {
                    if (xb[8 * k + i] >= 0)
                        xval[8 * k + i] = xb[8 * k + i];
                    else {
                        xval[8 * k + i] = -xb[8 * k + i];
                        s |= uint8_t(1 << i);
                    }
                }
                signs[k] = s;
            }
            float max = xval[0];
            for (int i = 1; i < 32; ++i)
                max = max > xval[i] ? max : xval[i];
            if (!max) {
                scales[ib] = 0;
                continue;
            }
            int8_t L[32] = {};
            int index[8];
            float scale = searchSubBlock(g, xval, weight, waux, max, 9, true, L, index);
            if (scale < 0) {
                scale = -scale;
                for (uint8_t& s : signs)
                    s = uint8_t(~s);
            }
            for (int k = 0; k < 8; ++k) {
                b.qs[8 * ib + k] = uint8_t(index[k] & 255);
                b.qh[ib] |= uint8_t((index[k] >> 8) << k); // 9th bit of the 8 indices of sub-block ib
            }
            std::memcpy(b.signs + 4 * ib, signs, 4);
            scales[ib] = scale;
            maxScale = maxScale > scale ? maxScale : scale;
        }
        if (!maxScale)
            continue;
        const float d = maxScale / 31;
        b.d = floatToHalf(d * 1.033f); // llama.cpp's fudge factor
        const float id = 1 / d;
        for (int ib = 0; ib < kQK_K / 32; ib += 2) {
            const int l1 = std::max(0, std::min(15, nearestInt(0.5f * (id * scales[ib] - 1))));
            const int l2 = std::max(0, std::min(15, nearestInt(0.5f * (id * scales[ib + 1] - 1))));
            b.scales[ib / 2] = uint8_t(l1 | (l2 << 4));
        }
    }
}

} // namespace tailor::gguf::kernels
