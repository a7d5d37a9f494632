#include "ggml_quant_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tailor::gguf::search {

namespace {
inline float weightOf(const float* qw, int rmseType, const float* x, int i)
{
    return qw ? qw[i] : rmseType == 1 ? x[i] * x[i] : rmseType == 2 ? 1 : rmseType == 3 ? std::fabs(x[i]) : std::sqrt(std::fabs(x[i]));
}
} // namespace

float sumSquares(const float* x, int n)
{
    float s = 0;
    for (int j = 0; j < n; ++j)
        s += x[j] * x[j];
    return s;
}

void importanceWeights(const float* x, const float* qw, float sigma2, int n, float* out)
{
    for (int j = 0; j < n; ++j)
        out[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

float makeQxQuants(int n, int nmax, const float* x, int8_t* L, int rmseType, const float* qw)
{
    const float max = signedAbsMax(x, n);
    if (std::fabs(max) < kGroupMaxEps) {
        std::fill(L, L + n, int8_t(0));
        return 0.f;
    }
    float iscale = -nmax / max;
    if (rmseType == 0) {
        for (int i = 0; i < n; ++i) {
            const int l = nearestInt(iscale * x[i]);
            L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    bool returnEarly = false;
    if (rmseType < 0) {
        rmseType = -rmseType;
        returnEarly = true;
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearestInt(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = int8_t(l + nmax);
        const float w = weightOf(qw, rmseType, x, i);
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (returnEarly)
        return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0)
            continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[i]);
            l = std::max(-nmax, std::min(nmax - 1, l));
            const float w = weightOf(qw, rmseType, x, i);
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                const int l = nearestInt(iscale * x[i]);
                L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

float makeQ3Quants(int n, int nmax, const float* x, int8_t* L, bool doRmse)
{
    const float max = signedAbsMax(x, n);
    if (std::fabs(max) < kGroupMaxEps) {
        std::fill(L, L + n, int8_t(0));
        return 0.f;
    }
    const float iscale = -nmax / max;
    if (doRmse) {
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * x[i]);
            l = std::max(-nmax, std::min(nmax - 1, l));
            L[i] = int8_t(l);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int itry = 0; itry < 5; ++itry) {
            int changed = 0;
            for (int i = 0; i < n; ++i) {
                const float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0) {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int newL = nearestInt(x[i] * sl2 / slx);
                    newL = std::max(-nmax, std::min(nmax - 1, newL));
                    if (newL != L[i]) {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            L[i] = int8_t(newL);
                            sumlx = slx;
                            suml2 = sl2;
                            ++changed;
                        }
                    }
                }
            }
            if (!changed)
                break;
        }
        for (int i = 0; i < n; ++i)
            L[i] = int8_t(L[i] + nmax);
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }
    for (int i = 0; i < n; ++i) {
        int l = nearestInt(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = int8_t(l + nmax);
    }
    return 1 / iscale;
}

namespace {
// make_qkx2_quants and make_qkx3_quants differ only in their weights default
// (x^2 when none, in qkx3), the all-equal test (max == min vs max <= min) and
// memset vs loop: one body, two entry points.
template <bool HasWeights>
float makeQkxQuants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* theMin, uint8_t* Laux,
                    float rmin, float rdelta, int nstep, bool useMad)
{
    auto wOf = [&](int i) {
        if constexpr (HasWeights)
            return weights[i];
        else
            return x[i] * x[i];
    };
    float min = x[0], max = x[0];
    float sumW = wOf(0);
    float sumX = sumW * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        const float w = wOf(i);
        sumW += w;
        sumX += w * x[i];
    }
    if (min > 0)
        min = 0;
    if (max <= min) { // max == min after clamping min to <= 0 (both variants agree)
        std::fill(L, L + n, uint8_t(0));
        *theMin = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearestInt(iscale * (x[i] - min));
        L[i] = uint8_t(std::max(0, std::min(nmax, l)));
        float diff = scale * L[i] + min - x[i];
        diff = useMad ? std::fabs(diff) : diff * diff;
        best += wOf(i) * diff;
    }
    if (nstep < 1) {
        *theMin = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sumL = 0, sumL2 = 0, sumXL = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscale * (x[i] - min));
            l = std::max(0, std::min(nmax, l));
            Laux[i] = uint8_t(l);
            const float w = wOf(i);
            sumL += w * l;
            sumL2 += w * l * l;
            sumXL += w * l * x[i];
        }
        const float D = sumW * sumL2 - sumL * sumL;
        if (D > 0) {
            float thisScale = (sumW * sumXL - sumX * sumL) / D;
            float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
            if (thisMin > 0) {
                thisMin = 0;
                thisScale = sumXL / sumL2;
            }
            float cur = 0;
            for (int i = 0; i < n; ++i) {
                float diff = thisScale * Laux[i] + thisMin - x[i];
                diff = useMad ? std::fabs(diff) : diff * diff;
                cur += wOf(i) * diff;
            }
            if (cur < best) {
                std::copy(Laux, Laux + n, L);
                best = cur;
                scale = thisScale;
                min = thisMin;
            }
        }
    }
    *theMin = -min;
    return scale;
}
} // namespace

float makeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* theMin, uint8_t* Laux,
                     float rmin, float rdelta, int nstep, bool useMad)
{
    return makeQkxQuants<true>(n, nmax, x, weights, L, theMin, Laux, rmin, rdelta, nstep, useMad);
}

float makeQkx3Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* theMin, uint8_t* Laux,
                     float rmin, float rdelta, int nstep, bool useMad)
{
    return weights ? makeQkxQuants<true>(n, nmax, x, weights, L, theMin, Laux, rmin, rdelta, nstep, useMad)
                   : makeQkxQuants<false>(n, nmax, x, weights, L, theMin, Laux, rmin, rdelta, nstep, useMad);
}

float makeQpQuants(int n, int nmax, const float* x, uint8_t* L, const float* quantWeights)
{
    float max = 0;
    for (int i = 0; i < n; ++i)
        max = std::max(max, x[i]);
    if (max < kGroupMaxEps) {
        std::fill(L, L + n, uint8_t(0));
        return 0.f;
    }
    float iscale = nmax / max;
    for (int i = 0; i < n; ++i)
        L[i] = uint8_t(nearestInt(iscale * x[i]));
    const float scale = 1 / iscale;
    float bestMse = 0;
    for (int i = 0; i < n; ++i) {
        const float diff = x[i] - scale * L[i];
        const float w = quantWeights[i];
        bestMse += w * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0)
            continue;
        const float iscaleIs = (0.1f * is + nmax) / max;
        const float scaleIs = 1 / iscaleIs;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearestInt(iscaleIs * x[i]);
            l = std::min(nmax, l);
            const float diff = x[i] - scaleIs * l;
            const float w = quantWeights[i];
            mse += w * diff * diff;
        }
        if (mse < bestMse) {
            bestMse = mse;
            iscale = iscaleIs;
        }
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearestInt(iscale * x[i]);
        l = std::min(nmax, l);
        L[i] = uint8_t(l);
        const float w = quantWeights[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = quantWeights[i];
            float slx = sumlx - w * x[i] * L[i];
            float sl2 = suml2 - w * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                int newL = nearestInt(x[i] * sl2 / slx);
                newL = std::min(nmax, newL);
                if (newL != L[i]) {
                    slx += w * x[i] * newL;
                    sl2 += w * newL * newL;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = uint8_t(newL);
                        sumlx = slx;
                        suml2 = sl2;
                        ++changed;
                    }
                }
            }
        }
        if (!changed)
            break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

} // namespace tailor::gguf::search
