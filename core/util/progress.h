#pragma once
// Progress reporting for long engine work. Every long function takes a
// ProgressFn; returning false asks it to stop, and it then throws Cancelled at
// the next safe point (after a window, a block...). Plain C++ so ui/ and app/
// can use it without torch.
#include <chrono>
#include <functional>
#include <string>

namespace tailor {

struct Progress {
    double fraction = 0.0; // 0..1 of the whole job
    std::string stage;     // what is being done now, for the log and status line
};

using ProgressFn = std::function<bool(const Progress&)>;

// Calls fn (if any) and throws Cancelled when it returns false.
void reportProgress(const ProgressFn& fn, double fraction, const std::string& stage);

// Remaining-time estimate from elapsed time and fraction done; negative if unknown.
class EtaEstimator {
public:
    EtaEstimator();
    double secondsLeft(double fraction) const;
    double elapsed() const;
private:
    std::chrono::steady_clock::time_point start_;
};

} // namespace tailor
