#include "token_windows.h"
#include "error.h"

#include <random>

namespace tailor {

namespace {
void checkLength(int64_t seqLen, const std::string& what)
{
    if (seqLen < 2)
        throw Error(what + ": window length " + std::to_string(seqLen) + " is too short (at least 2 tokens)");
}
} // namespace

TokenWindows cutWindows(const std::vector<int32_t>& ids, int64_t seqLen, int64_t maxWindows,
                        const std::string& what)
{
    checkLength(seqLen, what);
    TokenWindows w;
    w.seq_len = seqLen;
    const int64_t available = int64_t(ids.size()) / seqLen;
    if (available == 0)
        throw Error(what + ": " + std::to_string(ids.size()) + " tokens is shorter than one window of " +
                    std::to_string(seqLen) + " tokens");
    if (maxWindows < 0)
        throw Error(what + ": the window limit must not be negative");
    w.count = maxWindows > 0 ? std::min(available, maxWindows) : available;
    w.ids.assign(ids.begin(), ids.begin() + w.count * seqLen);
    return w;
}

TokenWindows sampleWindows(const std::vector<int32_t>& ids, int64_t seqLen, int64_t n, uint64_t seed,
                           const std::string& what)
{
    checkLength(seqLen, what);
    if (int64_t(ids.size()) < seqLen)
        throw Error(what + ": " + std::to_string(ids.size()) + " tokens is shorter than one window of " +
                    std::to_string(seqLen) + " tokens");
    if (n <= 0)
        throw Error(what + ": the number of windows must be positive");
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int64_t> start(0, int64_t(ids.size()) - seqLen);
    TokenWindows w;
    w.seq_len = seqLen;
    w.count = n;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t s = start(rng);
        w.ids.insert(w.ids.end(), ids.begin() + s, ids.begin() + s + seqLen);
    }
    return w;
}

} // namespace tailor

namespace tailor {

TokenWindows calibrationWindows(const std::vector<int32_t>& ids, const CalibOptions& opt, const std::string& what)
{
    if (opt.windows <= 0)
        throw Error(what + ": the number of calibration windows must be positive");
    if (opt.random)
        return sampleWindows(ids, opt.seq_len, opt.windows, opt.seed, what);
    checkLength(opt.seq_len, what);
    const int64_t available = int64_t(ids.size()) / opt.seq_len;
    if (available < opt.windows)
        throw Error(what + ": " + std::to_string(opt.windows) + " windows of " + std::to_string(opt.seq_len) +
                    " tokens were asked for, but its " + std::to_string(ids.size()) + " tokens hold only " +
                    std::to_string(available));
    return cutWindows(ids, opt.seq_len, opt.windows, what);
}

} // namespace tailor
