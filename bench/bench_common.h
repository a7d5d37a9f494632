#pragma once
// Shared by the benchmarks: libtorch's own sgemm rate measured in the same run
// (the denominator of every GFLOP/s ratio), peak RSS, and timing.
#include <ATen/ATen.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

namespace bench {

inline double seconds(const std::function<void()>& f)
{
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// GFLOP/s of at::mm on n x n fp32 matrices, best of a few runs of >= 0.5 s.
inline double sgemmGflops(int64_t n = 2048)
{
    const at::Tensor a = at::randn({n, n}), b = at::randn({n, n});
    at::Tensor c = at::mm(a, b);
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
        int iters = 0;
        const double t = seconds([&] {
            const auto t0 = std::chrono::steady_clock::now();
            while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 0.5) {
                c = at::mm(a, b);
                ++iters;
            }
        });
        best = std::max(best, 2.0 * double(n) * double(n) * double(n) * iters / t / 1e9);
    }
    return best;
}

// Peak resident set size of this process (VmHWM), bytes.
inline uint64_t peakRssBytes()
{
    std::ifstream f("/proc/self/status");
    std::string key;
    while (f >> key) {
        if (key == "VmHWM:") {
            uint64_t kb = 0;
            f >> kb;
            return kb * 1024;
        }
        std::getline(f, key);
    }
    return 0;
}


} // namespace bench
