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
