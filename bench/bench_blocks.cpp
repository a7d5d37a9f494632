// Block-importance scan cost (#4), as ratios in one run on the same windows:
// PPL-criterion scan time over the time of L full forward passes (target
// <= 0.6), and the Taylor criterion over one forward pass (target <= 4).
// Usage: bench_blocks [MODEL_DIR] [CALIB_TEXT]
#include "bench_common.h"

#include "core/block_importance.h"
#include "core/model.h"
#include "core/model_session.h"
#include "core/perplexity.h"

int main(int argc, char** argv)
{
    const std::string res = TAILOR_SOURCE_RESOURCES;
    const std::string modelDir = argc > 1 ? argv[1] : res + "/models/tinystories-12L";
    const std::string calibFile = argc > 2 ? argv[2] : res + "/data/tinystories-calib-50.txt";
    auto session = tailor::ModelSession::open(modelDir);
    const auto calib = session->calibration(calibFile);
    const int L = int(session->summary().n_layer);
    tailor::EvalOptions eo;
    eo.seq_len = calib.seq_len;
    tailor::evaluateWindows(session->model(), calib, eo); // warm-up
    double forward = 1e30;
    for (int r = 0; r < 3; ++r)
        forward = std::min(forward, bench::seconds([&] { tailor::evaluateWindows(session->model(), calib, eo); }));
    tailor::BlockScanOptions ppl;
    ppl.taylor = ppl.bi = false;
    double scan = 1e30, taylor = 1e30;
    for (int r = 0; r < 3; ++r)
        scan = std::min(scan, bench::seconds([&] { tailor::scanBlocks(session->model(), calib, ppl); }));
    tailor::BlockScanOptions ty;
    ty.ppl = ty.bi = false;
    for (int r = 0; r < 3; ++r)
        taylor = std::min(taylor, bench::seconds([&] { tailor::scanBlocks(session->model(), calib, ty); }));
    std::printf("%s, %d blocks, %lld x %lld calibration tokens: one forward %.3f s; PPL scan %.3f s = %.2f x L forwards; "
                "Taylor %.3f s = %.2f x one forward\n",
                modelDir.c_str(), L, (long long)calib.count, (long long)calib.seq_len, forward, scan, scan / (L * forward),
                taylor, taylor / forward);
    return 0;
}
