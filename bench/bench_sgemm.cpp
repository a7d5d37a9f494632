// libtorch's own sgemm rate on this machine (the denominator of the GFLOP/s
// ratios in scripts/bench_scale.sh): prints GFLOP/s of at::mm on 2048² fp32.
#include "bench_common.h"

#include "core/util/compute_threads.h"

int main()
{
    tailor::setComputeThreads(0);
    std::printf("%.1f\n", bench::sgemmGflops());
    return 0;
}
