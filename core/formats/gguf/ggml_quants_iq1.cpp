// The 1-bit grid i-quants, as ggml-quants.c's quantize_row_iq1_s_impl and
// quantize_row_iq1_m_impl write them: values in {-1, 0, 1} shifted by ±1/8,
// groups of 8 from a 2048-point grid. Per sub-block (32 values in IQ1_S, 16 in
// IQ1_M) the two boundaries splitting the sorted values into the three levels
// are searched exhaustively for the best weighted fit (with the shift's sign;
// IQ1_M picks it per half); groups off the grid move to the best nearby grid
// point (ggml_iq_lattice.h). IQ1_S needs importance weights. Float operations
// in llama.cpp's order (compiled without contraction).
#include "ggml_block_layouts.h"
#include "ggml_fp16.h"
#include "ggml_iq_lattice.h"
#include "ggml_quant_search.h"
#include "ggml_quants_impl.h"
#include "core/util/error.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

namespace tailor::gguf::kernels {

namespace {

using lattice::Lattice;
using search::nearestInt;

constexpr float kDelta = 0.125f;             // IQ1S_DELTA, IQ1M_DELTA
constexpr float kGroupMaxEpsS = 1e-12f;      // GROUP_MAX_EPS_IQ1_S
constexpr float kGroupMaxEpsM = 1e-7f;       // GROUP_MAX_EPS_IQ1_M
constexpr float kPlus[3] = {-1 + kDelta, kDelta, 1 + kDelta};
constexpr float kMinus[3] = {-1 - kDelta, -kDelta, 1 - kDelta};

// The order of the values: ascending, equal values in their original order
// (glibc's qsort, which libllama calls, merge-sorts arrays this small: stable).
void sortedOrder(const float* xb, int n, int* idx)
{
    for (int j = 0; j < n; ++j)
        idx[j] = j;
    std::stable_sort(idx, idx + n, [&](int a, int b) { return xb[a] < xb[b]; });
}

// iq1_find_best_neighbour2: the listed grid point nearest x/scale, its levels mapped through xg.
int bestNeighbour(const Lattice& g, int u, const float* xval, const float* weight, float scale, const float* xg, int8_t* L)
{
    const uint16_t* list = &g.neighbours[std::size_t(-g.map[std::size_t(u)] - 1)];
    float best = FLT_MAX;
    int index = -1;
    for (int j = 1; j <= list[0]; ++j) {
        const int8_t* pg = g.point(list[j]);
        float d2 = 0;
        for (int i = 0; i < 8; ++i) {
            const float q = xg[(pg[i] - 1) / 2];
            const float w = weight[i];
            const float diff = scale * q - xval[i];
            d2 += w * diff * diff;
        }
        if (d2 < best) {
            best = d2;
            index = list[j];
        }
    }
    if (index < 0) // every distance not finite (llama.cpp then scans the grid with an out-of-range read)
        throw Error("IQ1 quantizer: values that are not finite");
    const int8_t* pg = g.point(index);
    for (int i = 0; i < 8; ++i)
        L[i] = int8_t((pg[i] - 1) / 2);
    return index;
}

// The groups of a sub-block on the grid: their indices; false when one had to move.
bool placeGroups(const Lattice& g, int groups, const float* xb, const float* weight, float scale, const float* const* xx,
                 int8_t* L, uint16_t* index)
{
    bool allOnGrid = true;
    for (int k = 0; k < groups; ++k) {
        const int u = lattice::codeOf(g, L + 8 * k);
        int gi = g.map[std::size_t(u)];
        if (gi < 0) {
            allOnGrid = false;
            gi = bestNeighbour(g, u, xb + 8 * k, weight + 8 * k, scale, xx[k], L + 8 * k);
        }
        index[k] = uint16_t(gi);
    }
    return allOnGrid;
}

// The scale refitted to the grid points chosen.
float refit(const Lattice& g, int groups, const float* xb, const float* weight, const float* const* xx, const uint16_t* index,
            float scale)
{
    float sumqx = 0, sumq2 = 0;
    for (int k = 0; k < groups; ++k) {
        const int8_t* pg = g.point(index[k]);
        for (int j = 0; j < 8; ++j) {
            const float w = weight[8 * k + j];
            const float q = xx[k][(pg[j] - 1) / 2];
            sumqx += w * q * xb[8 * k + j];
            sumq2 += w * q * q;
        }
    }
    return sumqx > 0 && sumq2 > 0 ? sumqx / sumq2 : scale;
}

float sigma2Of(const float* x) { return 2 * search::sumSquares(x, kQK_K) / kQK_K; }

float absMax(const float* xb, int n)
{
    float max = std::fabs(xb[0]);
    for (int i = 1; i < n; ++i)
        max = max > std::fabs(xb[i]) ? max : std::fabs(xb[i]);
    return max;
}

// Levels from the best split of the sorted order: below i1 -> 0, below i2 -> 1, else 2.
void levelsOf(const int* idx, int n, int i1, int i2, int8_t* L)
{
    for (int j = 0; j < n; ++j)
        L[idx[j]] = int8_t(j < i1 ? 0 : j < i2 ? 1 : 2);
}

} // namespace

void quantizeIQ1_S(const float* x, void* vy, int64_t n, const float* qw)
{
    if (!qw)
        throw Error("IQ1_S needs importance weights (an imatrix): llama.cpp does not quantize it without them");
    constexpr int bs = 32;
    const Lattice& g = lattice::get(lattice::Kind::IQ1);
    auto* y = static_cast<BlockIQ1_S*>(vy);
    for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
        BlockIQ1_S& b = y[ibl];
        b.d = floatToHalf(0.f);
        std::memset(b.qs, 0, sizeof b.qs);
        std::memset(b.qh, 0, sizeof b.qh);
        const float* xbl = x + kQK_K * ibl;
        const float sigma2 = sigma2Of(xbl);
        float scales[kQK_K / bs], maxScale = 0;
        int8_t shifts[kQK_K / bs];
        for (int ib = 0; ib < kQK_K / bs; ++ib) {
            const float* xb = xbl + bs * ib;
            const float* w = qw + kQK_K * ibl + bs * ib;
            float weight[bs];
            search::importanceWeights(xb, w, sigma2, bs, weight);
            const float max = absMax(xb, bs);
            if (max < kGroupMaxEpsS) {
                scales[ib] = 0;
                shifts[ib] = 1;
                continue;
            }
            int idx[bs];
            sortedOrder(xb, bs, idx);
            float sumx[bs + 1], sumw[bs + 1];
            sumx[0] = sumw[0] = 0;
            for (int j = 0; j < bs; ++j) {
                const int i = idx[j];
                sumx[j + 1] = sumx[j] + weight[i] * xb[i];
                sumw[j + 1] = sumw[j] + weight[i];
            }
            float best = -FLT_MAX, scale = max;
            int besti1 = -1, besti2 = -1, bestShift = 0;
            for (int i1 = 0; i1 <= bs; ++i1)
                for (int i2 = i1; i2 <= bs; ++i2)
                    for (int shift : {1, -1}) {
                        const float* xp = shift == 1 ? kPlus : kMinus;
                        const float sumqx = (sumx[i1] - sumx[0]) * xp[0] + (sumx[i2] - sumx[i1]) * xp[1] + (sumx[bs] - sumx[i2]) * xp[2];
                        const float sumq2 = (sumw[i1] - sumw[0]) * xp[0] * xp[0] + (sumw[i2] - sumw[i1]) * xp[1] * xp[1] +
                                            (sumw[bs] - sumw[i2]) * xp[2] * xp[2];
                        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                            scale = sumqx / sumq2;
                            best = scale * sumqx;
                            besti1 = i1, besti2 = i2, bestShift = shift;
                        }
                    }
            if (besti1 < 0 || besti2 < 0 || bestShift == 0) {
                scales[ib] = 0;
                shifts[ib] = 1;
                continue;
            }
            int8_t L[bs];
            levelsOf(idx, bs, besti1, besti2, L);
            if (scale < 0) {
                for (int8_t& l : L)
                    l = int8_t(2 - l);
                scale = -scale;
                bestShift = -bestShift;
            }
            const float* xx = bestShift == 1 ? kPlus : kMinus;
            const float* groupLevels[bs / 8] = {xx, xx, xx, xx};
            uint16_t index[bs / 8];
            if (!placeGroups(g, bs / 8, xb, weight, scale, groupLevels, L, index))
                scale = refit(g, bs / 8, xb, weight, groupLevels, index, scale);
            uint16_t h = 0;
            for (int k = 0; k < bs / 8; ++k) {
                b.qs[(bs / 8) * ib + k] = uint8_t(index[k] & 255);
                h = uint16_t(h | ((index[k] >> 8) << 3 * k));
            }
            b.qh[ib] = h;
            scales[ib] = scale;
            shifts[ib] = int8_t(bestShift);
            maxScale = maxScale > scale ? maxScale : scale;
        }
        if (!maxScale)
            continue;
        const float d = maxScale / 15;
        b.d = floatToHalf(d * 1.125f); // llama.cpp's fudge factor
        const float id = 1 / d;
        for (int ib = 0; ib < kQK_K / bs; ++ib) {
            int l = std::max(0, std::min(7, nearestInt(0.5f * (id * scales[ib] - 1))));
            if (shifts[ib] == -1)
                l |= 8;
            b.qh[ib] = uint16_t(b.qh[ib] | (l << 12));
        }
    }
}

void quantizeIQ1_M(const float* x, void* vy, int64_t n, const float* qw)
{
    constexpr int bs = 16;
    constexpr uint8_t kMasks[4] = {0x00, 0x80, 0x08, 0x88};
    const Lattice& g = lattice::get(lattice::Kind::IQ1);
    auto* y = static_cast<BlockIQ1_M*>(vy);
    // the shift per half of a sub-block: k = 0 (+,+), 1 (+,-), 2 (-,+), 3 (-,-)
    auto levelsFor = [](int k, int half) { return (half == 0 ? k < 2 : k % 2 == 0) ? kPlus : kMinus; };
    auto weightsOf = [&](const float* xb, const float* w, float sigma2, float* weight) {
        if (w)
            return search::importanceWeights(xb, w, sigma2, bs, weight);
        for (int i = 0; i < bs; ++i)
            weight[i] = xb[i] * xb[i];
    };
    for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
        BlockIQ1_M& b = y[ibl];
        std::memset(&b, 0, sizeof b);
        const float* xbl = x + kQK_K * ibl;
        const float sigma2 = sigma2Of(xbl);
        float scales[kQK_K / bs], maxScale = 0;
        int8_t shifts[kQK_K / bs];
        for (int ib = 0; ib < kQK_K / bs; ++ib) {
            const float* xb = xbl + bs * ib;
            float weight[bs];
            weightsOf(xb, qw ? qw + kQK_K * ibl + bs * ib : nullptr, sigma2, weight);
            const float max = absMax(xb, bs);
            if (max < kGroupMaxEpsM) {
                scales[ib] = 0;
                shifts[ib] = 0;
                continue;
            }
            int idx[bs];
            sortedOrder(xb, bs, idx);
            float best = -FLT_MAX, scale = max;
            int besti1 = -1, besti2 = -1, bestK = -1;
            for (int i1 = 0; i1 <= bs; ++i1)
                for (int i2 = i1; i2 <= bs; ++i2) {
                    float sumqx[4] = {}, sumq2[4] = {};
                    for (int j = 0; j < bs; ++j) {
                        const int i = idx[j], level = j < i1 ? 0 : j < i2 ? 1 : 2;
                        for (int k = 0; k < 4; ++k) {
                            const float xl = levelsFor(k, i < bs / 2 ? 0 : 1)[level];
                            sumqx[k] += weight[i] * xl * xb[i];
                            sumq2[k] += weight[i] * xl * xl;
                        }
                    }
                    for (int k = 0; k < 4; ++k)
                        if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > best * sumq2[k]) {
                            scale = sumqx[k] / sumq2[k];
                            best = scale * sumqx[k];
                            besti1 = i1, besti2 = i2, bestK = k;
                        }
                }
            if (besti1 < 0 || besti2 < 0 || bestK < 0) {
                scales[ib] = 0;
                shifts[ib] = 0;
                continue;
            }
            int8_t L[bs];
            levelsOf(idx, bs, besti1, besti2, L);
            if (scale < 0) {
                for (int8_t& l : L)
                    l = int8_t(2 - l);
                scale = -scale;
                bestK = 3 - bestK; // both halves' shifts flip
            }
            const float* groupLevels[2] = {levelsFor(bestK, 0), levelsFor(bestK, 1)};
            uint16_t index[2];
            if (!placeGroups(g, 2, xb, weight, scale, groupLevels, L, index))
                scale = refit(g, 2, xb, weight, groupLevels, index, scale);
            b.qs[2 * ib] = uint8_t(index[0] & 255);
            b.qs[2 * ib + 1] = uint8_t(index[1] & 255);
            b.qh[ib] = uint8_t((index[0] >> 8) | ((index[1] >> 8) << 4));
            scales[ib] = scale;
            shifts[ib] = int8_t(bestK);
            maxScale = maxScale > scale ? maxScale : scale;
        }
        if (!maxScale)
            continue;
        // 3-bit sub-block scales, then the block scale refitted to everything chosen
        uint16_t sc[4] = {};
        float d = maxScale / 15;
        const float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int ib = 0; ib < kQK_K / bs; ++ib) {
            const int l = std::max(0, std::min(7, nearestInt(0.5f * (id * scales[ib] - 1))));
            sc[ib / 4] = uint16_t(sc[ib / 4] | (l << 3 * (ib % 4)));
            b.qh[ib] |= kMasks[shifts[ib]];
            const float* xb = xbl + bs * ib;
            float weight[bs];
            weightsOf(xb, qw ? qw + kQK_K * ibl + bs * ib : nullptr, sigma2, weight);
            for (int k = 0; k < 2; ++k) {
                const float* xx = levelsFor(shifts[ib], k);
                const int8_t* pg = g.point(b.qs[2 * ib + k] + ((b.qh[ib] << (8 - 4 * k)) & 0x700));
                for (int j = 0; j < 8; ++j) {
                    const float w = weight[8 * k + j];
                    const float q = xx[(pg[j] - 1) / 2] * float(2 * l + 1);
                    sumqx += w * q * xb[8 * k + j];
                    sumq2 += w * q * q;
                }
            }
        }
        if (sumq2 > 0)
            d = sumqx / sumq2;
        const uint16_t h = floatToHalf(d * 1.1125f); // llama.cpp's fudge factor
        sc[0] = uint16_t(sc[0] | ((h & 0x000f) << 12));
        sc[1] = uint16_t(sc[1] | ((h & 0x00f0) << 8));
        sc[2] = uint16_t(sc[2] | ((h & 0x0f00) << 4));
        sc[3] = uint16_t(sc[3] | (h & 0xf000));
        std::memcpy(b.scales, sc, sizeof sc);
    }
}

} // namespace tailor::gguf::kernels
