#include "bit_allocation.h"
#include "core/util/error.h"

#include <algorithm>
#include <cstdio>

namespace tailor {

namespace {
// The options on the lower convex hull of (bytes, damage), by bytes: each step
// right buys less damage per byte than the one before.
std::vector<int> lowerHull(const AllocationTensor& t)
{
    std::vector<int> idx(t.options.size());
    for (std::size_t i = 0; i < idx.size(); ++i)
        idx[i] = int(i);
    std::sort(idx.begin(), idx.end(), [&](int a, int b) {
        const auto &x = t.options[std::size_t(a)], &y = t.options[std::size_t(b)];
        return x.bytes != y.bytes ? x.bytes < y.bytes : x.damage < y.damage;
    });
    std::vector<int> pareto; // strictly less damage for more bytes
    for (int i : idx)
        if (pareto.empty() || t.options[std::size_t(i)].damage < t.options[std::size_t(pareto.back())].damage)
            pareto.push_back(i);
    std::vector<int> hull;
    auto at = [&](int i) { return t.options[std::size_t(i)]; };
    for (int i : pareto) {
        while (hull.size() >= 2) {
            const auto &o = at(hull[hull.size() - 2]), &a = at(hull.back()), &b = at(i);
            const double cross = (a.bytes - o.bytes) * (b.damage - o.damage) - (a.damage - o.damage) * (b.bytes - o.bytes);
            if (cross > 0)
                break;
            hull.pop_back();
        }
        hull.push_back(i);
    }
    return hull;
}

std::string mb(double bytes)
{
    char s[64];
    std::snprintf(s, sizeof s, "%.0f bytes (%.3f MB)", bytes, bytes / 1e6);
    return s;
}
} // namespace

double minimumBytes(const std::vector<AllocationTensor>& tensors)
{
    double sum = 0;
    for (const auto& t : tensors) {
        if (t.options.empty())
            throw Error("tensor '" + t.name + "' has no quantization option");
        double m = t.options[0].bytes;
        for (const auto& o : t.options)
            m = std::min(m, o.bytes);
        sum += m;
    }
    return sum;
}

double maximumUsefulBytes(const std::vector<AllocationTensor>& tensors)
{
    double sum = 0;
    for (const auto& t : tensors)
        sum += t.options[std::size_t(lowerHull(t).back())].bytes;
    return sum;
}

Allocation allocate(const std::vector<AllocationTensor>& tensors, double budget)
{
    const double lo = minimumBytes(tensors);
    if (budget < lo)
        throw Error("the budget of " + mb(budget) + " is below the smallest allocation, " + mb(lo) + " (achievable: " + mb(lo) +
                    " to " + mb(maximumUsefulBytes(tensors)) + ")");
    const std::size_t n = tensors.size();
    auto option = [&](std::size_t i, int k) -> const AllocationOption& { return tensors[i].options[std::size_t(k)]; };
    Allocation a;
    a.choice.assign(n, 0);
    // Dynamic programming over the budget cut into kUnits parts, each option's
    // bytes rounded up (so the result always fits), then the exact bytes left
    // are spent below. Bytes above the smallest option are what is allotted.
    constexpr int kUnits = 8192;
    const double spare = budget - lo, unit = std::max(spare / kUnits, 1e-300);
    std::vector<double> base(n);
    for (std::size_t i = 0; i < n; ++i) {
        base[i] = option(i, 0).bytes;
        for (const auto& o : tensors[i].options)
            base[i] = std::min(base[i], o.bytes);
    }
    constexpr double kInf = 1e300;
    std::vector<double> dp(kUnits + 1, 0.0), next(kUnits + 1);
    std::vector<std::vector<int16_t>> pick(n, std::vector<int16_t>(kUnits + 1, -1));
    for (std::size_t i = 0; i < n; ++i) {
        std::fill(next.begin(), next.end(), kInf);
        for (std::size_t k = 0; k < tensors[i].options.size(); ++k) {
            const auto& o = tensors[i].options[k];
            const double extra = std::ceil((o.bytes - base[i]) / unit - 1e-9);
            if (extra > kUnits)
                continue;
            const int w = std::max(0, int(extra));
            for (int c = w; c <= kUnits; ++c)
                if (dp[std::size_t(c - w)] + o.damage < next[std::size_t(c)]) {
                    next[std::size_t(c)] = dp[std::size_t(c - w)] + o.damage;
                    pick[i][std::size_t(c)] = int16_t(k);
                }
        }
        dp.swap(next);
    }
    int c = kUnits;
    for (std::size_t i = n; i-- > 0;) {
        const int k = pick[i][std::size_t(c)];
        a.choice[i] = k;
        const int w = std::max(0, int(std::ceil((option(i, k).bytes - base[i]) / unit - 1e-9)));
        c -= w;
    }
    for (std::size_t i = 0; i < n; ++i)
        a.bytes += option(i, a.choice[i]).bytes;
    // the bytes left over: the single change (hull or not) that saves the most damage, while any fits
    for (std::size_t round = 0; round < 4 * n + 16; ++round) {
        double bestGain = 0;
        std::size_t bestT = n;
        int bestK = -1;
        for (std::size_t i = 0; i < n; ++i) {
            const auto& cur = option(i, a.choice[i]);
            for (std::size_t k = 0; k < tensors[i].options.size(); ++k) {
                const auto& o = tensors[i].options[k];
                const double gain = cur.damage - o.damage;
                if (gain > bestGain && a.bytes + o.bytes - cur.bytes <= budget)
                    bestGain = gain, bestT = i, bestK = int(k);
            }
        }
        if (bestT == n)
            break;
        a.bytes += option(bestT, bestK).bytes - option(bestT, a.choice[bestT]).bytes;
        a.choice[bestT] = bestK;
    }
    // exchanges: one tensor gives bytes up so another can take a better option
    // (the greedy path misses these where a hull step does not fit whole)
    for (int round = 0; round < 200; ++round) {
        double bestGain = 1e-15;
        std::size_t bi = n, bj = n;
        int bki = -1, bkj = -1;
        for (std::size_t i = 0; i < n; ++i) {
            const auto& ci = option(i, a.choice[i]);
            for (std::size_t ki = 0; ki < tensors[i].options.size(); ++ki) {
                const auto& oi = tensors[i].options[ki];
                const double di = ci.damage - oi.damage, bytesI = oi.bytes - ci.bytes;
                for (std::size_t j = 0; j < n; ++j) {
                    if (j == i)
                        continue;
                    const auto& cj = option(j, a.choice[j]);
                    for (std::size_t kj = 0; kj < tensors[j].options.size(); ++kj) {
                        const auto& oj = tensors[j].options[kj];
                        const double gain = di + cj.damage - oj.damage;
                        if (gain > bestGain && a.bytes + bytesI + oj.bytes - cj.bytes <= budget)
                            bestGain = gain, bi = i, bj = j, bki = int(ki), bkj = int(kj);
                    }
                }
            }
        }
        if (bi == n)
            break;
        a.bytes += option(bi, bki).bytes - option(bi, a.choice[bi]).bytes + option(bj, bkj).bytes - option(bj, a.choice[bj]).bytes;
        a.choice[bi] = bki;
        a.choice[bj] = bkj;
    }
    for (std::size_t i = 0; i < n; ++i)
        a.damage += option(i, a.choice[i]).damage;
    return a;
}

std::vector<Allocation> allocationFrontier(const std::vector<AllocationTensor>& tensors, int points)
{
    const double lo = minimumBytes(tensors), hi = maximumUsefulBytes(tensors);
    std::vector<Allocation> out;
    for (int p = 0; p < points; ++p) {
        const double budget = points == 1 ? hi : lo + (hi - lo) * double(p) / double(points - 1);
        out.push_back(allocate(tensors, budget));
    }
    return out;
}

} // namespace tailor
