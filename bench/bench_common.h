#pragma once
// Shared by the benchmarks: libtorch's own sgemm rate measured in the same run
// (the denominator of every GFLOP/s ratio), peak RSS, and timing.
#include <ATen/ATen.h>
#include "core/decode/packed_gemm.h"
#include "core/formats/gguf/ggml_blocks.h"
#include <QByteArray>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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


// Runs a command in a child process and returns its peak RSS in bytes (0 on
// failure): the engine's memory without the benchmark's own allocations.
inline uint64_t childPeakRssBytes(const std::vector<std::string>& argv)
{
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    rusage ru{};
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 0;
    return uint64_t(ru.ru_maxrss) * 1024;
}

// The int8 GEMM's arithmetic ceiling on this machine (#32): multiply-adds per
// second of decode::gemm on a Q4_0 panel that stays in cache (64 rows a
// thread × 2048 columns, `tokens` tokens), so memory does not count.
inline double int8PeakMacs(int threads, int64_t tokens = 128)
{
    const int64_t rows = 64 * std::max(1, threads), cols = 2048;
    at::manual_seed(1);
    const at::Tensor w = at::randn({rows, cols}) * 0.02, x = at::randn({tokens, cols});
    const QByteArray bytes = tailor::gguf::encodeRows(w, tailor::gguf::TensorType::Q4_0);
    const tailor::decode::PanelMatrix p =
        tailor::decode::makePanels(tailor::decode::PackedMatrix::over(tailor::gguf::TensorType::Q4_0, rows, cols, bytes.constData()));
    tailor::decode::QuantizedRows xq;
    xq.set(x.data_ptr<float>(), tokens, cols, cols);
    std::vector<float> y(std::size_t(tokens * rows));
    const int reps = 20;
    double best = 1e30;
    for (int r = 0; r < 4; ++r)
        best = std::min(best, seconds([&] { for (int i = 0; i < reps; ++i) tailor::decode::gemm(p, xq, y.data(), rows); }));
    return double(rows * cols * tokens) * reps / best;
}

} // namespace bench
