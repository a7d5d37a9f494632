// Spectra of every linear matrix of a model (#6), relative to one fp32 SVD of a
// 2048 x 2048 matrix measured in the same run. The cost model is
// Σ min(m,n)²·max(m,n) / 2048³ "reference SVDs"; the ratio says how close our
// per-layer loop comes to libtorch's own SVD throughput:
//   bench_spectra MODEL_DIR [--top-k K]
// With --top-k the randomized mode is timed too, with its worst relative error
// of the top K against the exact values.
#include "bench_common.h"
#include "core/util/compute_threads.h"
#include "core/model/layer_selection.h"
#include "core/lowrank/spectrum.h"
#include "core/model/model_session.h"
#include "core/model/model.h"

#include <cstring>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_spectra MODEL_DIR [--top-k K]\n");
        return 2;
    }
    const int64_t topK = argc > 3 && !std::strcmp(argv[2], "--top-k") ? std::atoll(argv[3]) : 0;
    tailor::setComputeThreads(0);
    const auto session = tailor::ModelSession::open(argv[1]);
    const auto layers = tailor::linearLayers(session->model(), "");

    const at::Tensor ref = at::randn({2048, 2048});
    at::linalg_svdvals(ref); // warm-up: LAPACK workspace, threads
    double tRef = 1e30;
    for (int rep = 0; rep < 2; ++rep)
        tRef = std::min(tRef, bench::seconds([&] { at::linalg_svdvals(ref); }));

    double units = 0;
    for (const auto& t : session->summary().tensors)
        for (const auto& l : layers)
            if (t.name == l) {
                const double m = double(t.shape[0]), n = double(t.shape[1]);
                units += std::min(m, n) * std::min(m, n) * std::max(m, n) / (2048.0 * 2048.0 * 2048.0);
            }
    std::vector<tailor::LayerSpectrum> exact;
    const double tAll = bench::seconds([&] { exact = tailor::computeSpectra(session->model(), layers); });
    std::printf("model %s: %zu matrices, cost %.1f reference SVDs\n", argv[1], layers.size(), units);
    std::printf("one 2048x2048 fp32 svdvals: %.3f s\n", tRef);
    std::printf("exact spectra of all matrices: %.1f s = %.2f x (cost model x reference SVD)\n", tAll, tAll / (units * tRef));

    if (topK > 0) {
        tailor::SpectrumOptions opt;
        opt.top_k = topK;
        std::vector<tailor::LayerSpectrum> fast;
        const double tFast = bench::seconds([&] { fast = tailor::computeSpectra(session->model(), layers, {}, opt); });
        double worst = 0, worstResidual = 0;
        for (std::size_t i = 0; i < fast.size(); ++i) {
            for (std::size_t k = 0; k < fast[i].singular_values.size(); ++k)
                worst = std::max(worst, std::abs(fast[i].singular_values[k] - exact[i].singular_values[k]) / exact[i].singular_values[k]);
            worstResidual = std::max(worstResidual, fast[i].residual);
        }
        std::printf("randomized top-%lld (2 power iterations): %.1f s = %.1f x faster; worst relative error of the top %lld %.2e, "
                    "worst residual %.3f\n",
                    (long long)topK, tFast, tAll / tFast, (long long)topK, worst, worstResidual);
    }
    std::printf("peak RSS %.2f GB\n", double(bench::peakRssBytes()) / 1e9);
    return 0;
}
