#include "progress.h"
#include "compute_threads.h"
#include "error.h"

namespace tailor {

void reportProgress(const ProgressFn& fn, double fraction, const std::string& stage)
{
    // Progress points are the engine's safe points between parallel work:
    // where the thread count may follow the machine's load.
    adaptComputeThreads();
    if (fn && !fn(Progress{fraction, stage}))
        throw Cancelled();
}

EtaEstimator::EtaEstimator() : start_(std::chrono::steady_clock::now()) {}

double EtaEstimator::elapsed() const
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double EtaEstimator::secondsLeft(double fraction) const
{
    if (fraction <= 1e-6)
        return -1.0;
    const double t = elapsed();
    return t * (1.0 - fraction) / fraction;
}

} // namespace tailor
