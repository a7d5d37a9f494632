// Block-importance scan cost (#4), as ratios in one run on the same windows:
// PPL-criterion scan time over the time of L full forward passes (target
// <= 0.6), and the Taylor criterion over one forward pass (target <= 4).
// The machine's speed drifts between seconds (shared host), so each round
// times a forward, a scan and a Taylor pass back to back, and the reported
// ratio is the median of the per-round ratios.
// Usage: bench_blocks [MODEL_DIR] [CALIB_TEXT] [ROUNDS]
#include "bench_common.h"

#include "core/analysis/block_importance.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"

#include <algorithm>
#include <sys/resource.h>
#include <vector>

namespace {
double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
} // namespace

int main(int argc, char** argv)
{
    const std::string res = TAILOR_SOURCE_RESOURCES;
    const std::string modelDir = argc > 1 ? argv[1] : res + "/models/tinystories-12L";
    const std::string calibFile = argc > 2 ? argv[2] : res + "/data/tinystories-calib-50.txt";
    const int rounds = argc > 3 ? std::max(1, std::atoi(argv[3])) : 9;
    auto session = tailor::ModelSession::open(modelDir);
    const auto calib = session->calibration(calibFile);
    const int L = int(session->summary().n_layer);
    tailor::EvalOptions eo;
    eo.seq_len = calib.seq_len;
    tailor::BlockScanOptions ppl;
    ppl.taylor = ppl.bi = false;
    tailor::BlockScanOptions ty;
    ty.ppl = ty.bi = false;
    tailor::evaluateWindows(session->model(), calib, eo); // warm-up
    tailor::scanBlocks(session->model(), calib, ty);
    auto faults = [] { rusage u; getrusage(RUSAGE_SELF, &u); return u.ru_minflt; };
    {
        long f0 = faults();
        tailor::evaluateWindows(session->model(), calib, eo);
        long f1 = faults();
        tailor::scanBlocks(session->model(), calib, ty);
        long f2 = faults();
        std::printf("minor faults: forward %ld, Taylor %ld\n", f1 - f0, f2 - f1);
    }
    std::vector<double> fwd, scan, taylor, scanRatio, taylorRatio;
    for (int r = 0; r < rounds; ++r) {
        fwd.push_back(bench::seconds([&] { tailor::evaluateWindows(session->model(), calib, eo); }));
        scan.push_back(bench::seconds([&] { tailor::scanBlocks(session->model(), calib, ppl); }));
        taylor.push_back(bench::seconds([&] { tailor::scanBlocks(session->model(), calib, ty); }));
        const double f = std::min(fwd.back(), bench::seconds([&] { tailor::evaluateWindows(session->model(), calib, eo); }));
        scanRatio.push_back(scan.back() / (L * f));
        taylorRatio.push_back(taylor.back() / f);
    }
    std::printf("%s, %d blocks, %lld x %lld calibration tokens, %d rounds: one forward %.3f s (best); "
                "PPL scan %.3f s (best), median %.2f x L forwards [%.2f..%.2f]; "
                "Taylor %.3f s (best), median %.2f x one forward [%.2f..%.2f]\n",
                modelDir.c_str(), L, (long long)calib.count, (long long)calib.seq_len, rounds,
                *std::min_element(fwd.begin(), fwd.end()), *std::min_element(scan.begin(), scan.end()),
                median(scanRatio), *std::min_element(scanRatio.begin(), scanRatio.end()),
                *std::max_element(scanRatio.begin(), scanRatio.end()), *std::min_element(taylor.begin(), taylor.end()),
                median(taylorRatio), *std::min_element(taylorRatio.begin(), taylorRatio.end()),
                *std::max_element(taylorRatio.begin(), taylorRatio.end()));
    return 0;
}
