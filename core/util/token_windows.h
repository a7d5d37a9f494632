#pragma once
// The window protocol (shared/golden/README.md): ids (BOS first) cut into
// consecutive non-overlapping windows of L tokens, the short tail dropped; each
// window is evaluated on its own and predicts its tokens 1..L-1.
#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

struct TokenWindows {
    int64_t seq_len = 0;
    int64_t count = 0;
    std::vector<int64_t> ids; // count * seq_len, row-major

    int64_t predictedTokens() const { return count * (seq_len - 1); }
};

// First max_windows windows (0 = all). Throws if the text has no full window;
// `what` names the text in the message.
TokenWindows cutWindows(const std::vector<int32_t>& ids, int64_t seqLen, int64_t maxWindows,
                        const std::string& what);

// n windows at random starts (seeded, reproducible), for calibration sampling.
TokenWindows sampleWindows(const std::vector<int32_t>& ids, int64_t seqLen, int64_t n, uint64_t seed,
                           const std::string& what);

} // namespace tailor

namespace tailor {

// Calibration set: the first `windows` windows of `seq_len` tokens (the
// paper's 10 x 128 by default), or `windows` random windows with a seed.
struct CalibOptions {
    int64_t windows = 10;
    int64_t seq_len = 128;
    bool random = false;
    uint64_t seed = 0;
};

// Unlike cutWindows, asking for more windows than the text holds is an error.
TokenWindows calibrationWindows(const std::vector<int32_t>& ids, const CalibOptions& opt, const std::string& what);

} // namespace tailor
