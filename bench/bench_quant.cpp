// Quantization throughput (#5) on a model (the synthetic 1.1B shape for the
// issue's figure): round-to-nearest with the full per-layer weight report
// (MSE, SQNR, max error, kurtosis, outliers) over every linear layer, in
// weights per second; and GPTQ's time per layer relative to one forward pass
// of that layer over the calibration set (the cost of collecting its inputs).
//   bench_quant MODEL_DIR [CALIB_TEXT] [--gptq-blocks N]
#include "bench_common.h"
#include "core/util/compute_threads.h"
#include "core/model/layer_selection.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/quant/quant_report.h"

#include <cstring>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_quant MODEL_DIR [CALIB_TEXT] [--gptq-blocks N]\n");
        return 2;
    }
    const std::string calibPath = argc > 2 && argv[2][0] != '-' && argv[2][0] != '\0' ? argv[2] : std::string(TAILOR_SOURCE_RESOURCES) + "/data/tinystories-calib-50.txt";
    int gptqBlocks = 2;
    for (int i = 2; i + 1 < argc; ++i)
        if (!std::strcmp(argv[i], "--gptq-blocks"))
            gptqBlocks = std::atoi(argv[i + 1]);
    const int threads = tailor::setComputeThreads(0);
    const auto session = tailor::ModelSession::open(argv[1]);
    const auto layers = tailor::linearLayers(session->model(), "");
    int64_t weights = 0;
    for (const auto& t : session->summary().tensors)
        if (t.block >= 0 && t.shape.size() == 2)
            weights += t.parameters;

    tailor::QuantOptions qo;
    qo.scheme = tailor::QuantScheme::parse("int4_sym_g128");
    tailor::QuantReport rep;
    const double tRtn = bench::seconds([&] { rep = tailor::quantizeModel(session->model(), nullptr, qo); });
    std::printf("model %s: %zu linear layers, %.3f G weights\n", argv[1], layers.size(), double(weights) / 1e9);
    std::printf("RTN int4_sym_g128 with the per-layer report: %.1f s = %.1f M weights/s (%d threads)\n", tRtn,
                double(weights) / tRtn / 1e6, threads);
    std::fflush(stdout);

    // GPTQ on the first blocks: per layer, GPTQ time / time of the layer's forward over the calibration set
    const tailor::TokenWindows calib = session->calibration(calibPath);
    qo.method = tailor::QuantMethod::Gptq;
    qo.layers_regex = "layers\\.(" + [&] {
        std::string r;
        for (int b = 0; b < gptqBlocks; ++b)
            r += (b ? "|" : "") + std::to_string(b);
        return r;
    }() + ")\\.";
    double tForward = 0;
    {
        const int64_t n = calib.count * calib.seq_len;
        for (const auto& name : tailor::linearLayers(session->model(), qo.layers_regex)) {
            const at::Tensor w = session->model().raw(name).to(at::kFloat);
            const at::Tensor x = at::randn({n, w.size(1)});
            at::linear(x, w);
            tForward += bench::seconds([&] { at::linear(x, w); });
        }
    }
    const double tGptq = bench::seconds([&] { tailor::quantizeModel(session->model(), &calib, qo); });
    const double tRtnSame = bench::seconds([&] {
        tailor::QuantOptions r = qo;
        r.method = tailor::QuantMethod::Rtn;
        tailor::quantizeModel(session->model(), &calib, r);
    });
    std::printf("GPTQ int4_sym_g128 on blocks 0-%d (%d layers): %.1f s with calibration forwards; RTN with the same calibration %.1f s\n",
                gptqBlocks - 1, gptqBlocks * 7, tGptq, tRtnSame);
    std::printf("GPTQ's own work per layer = %.1f x one forward of the layer over the %lld calibration tokens\n",
                (tGptq - tRtnSame) / tForward, (long long)(calib.count * calib.seq_len));
    std::printf("peak RSS %.2f GB\n", double(bench::peakRssBytes()) / 1e9);
    return 0;
}
