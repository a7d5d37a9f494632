// The many-token product on packed weights (#32) against its ceilings, in one
// run: for each type, Y = X·Wᵀ on the 1.1B shape's largest matrix (5632 × 2048,
// an MLP projection) for T tokens, as int8 multiply-adds per second, beside
//  - the kernel's own peak: the same product on a panel that stays in cache
//    (64 rows), so only the arithmetic counts (the int8 roofline);
//  - libtorch's sgemm on the fp32 matrix (what the prefill used before).
// usage: bench_gemm [TOKENS] [THREADS]
#include "core/decode/packed_gemm.h"
#include "core/decode/packed_matrix.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/util/compute_threads.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace tailor;

namespace {

double seconds(const std::function<void()>& f, int repeats)
{
    f(); // warm-up
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        const auto a = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    const int64_t T = argc > 1 ? std::atoll(argv[1]) : 128;
    const int threads = setComputeThreads(argc > 2 ? std::atoi(argv[2]) : 2);
    const int64_t rows = 5632, cols = 2048;
    std::printf("GEMM kernel: %s; threads %d; %lld tokens; matrix %lld x %lld\n\n", decode::gemmKernelName(decode::bestGemmKernel()),
                threads, (long long)T, (long long)rows, (long long)cols);
    at::manual_seed(1);
    const at::Tensor w = at::randn({rows, cols}) * 0.02;
    const at::Tensor x = at::randn({T, cols});
    decode::QuantizedRows xq;
    xq.set(x.data_ptr<float>(), T, cols, cols);
    std::vector<float> y(std::size_t(T * rows));
    const double macs = double(rows) * double(cols) * double(T);

    at::Tensor out = at::empty({T, rows});
    const double sgemm = macs / seconds([&] { at::mm_out(out, x, w.t()); }, 5);
    std::printf("| weights | GEMM (G int8 MAC/s) | in-cache peak (G MAC/s) | of peak | sgemm fp32 (G MAC/s) | GEMM / sgemm | panel bytes / weight |\n"
                "|---|---|---|---|---|---|---|\n");
    for (const char* name : {"q8_0", "q4_0", "q4_k", "q6_k", "q5_0"}) {
        const auto t = *gguf::typeFromName(name);
        const QByteArray bytes = gguf::encodeRows(w, t);
        const decode::PackedMatrix m = decode::PackedMatrix::over(t, rows, cols, bytes.constData());
        const decode::PanelMatrix p = decode::makePanels(m);
        const double rate = macs / seconds([&] { decode::gemm(p, xq, y.data(), rows); }, 5);
        // 64 rows: 4 groups, a few hundred KB with the inputs: in cache after the first pass
        decode::PackedMatrix small = m;
        small.rows = 64 * threads;
        const decode::PanelMatrix ps = decode::makePanels(small);
        const double peak = double(small.rows) * double(cols) * double(T) * 20 /
                            seconds([&] { for (int i = 0; i < 20; ++i) decode::gemm(ps, xq, y.data(), rows); }, 5);
        std::printf("| %s | %.1f | %.1f | %.2f | %.1f | %.2f | %.3f |\n", name, rate / 1e9, peak / 1e9, rate / peak, sgemm / 1e9,
                    rate / sgemm, double(p.bytes()) / double(rows * cols));
        std::fflush(stdout);
    }
    return 0;
}
