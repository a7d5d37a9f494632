#pragma once
// Training-free healing after depth pruning (ReplaceMe, Shopkhoev et al.
// 2025): each span of contiguous dropped blocks is replaced by one linear map
// of the hidden state, fitted by least squares on calibration text and merged
// into the weights, so the healed model is a plain checkpoint of the pruned
// shape that any loader reads (HF and GGUF exports need nothing new).
//
// Where the map goes. Let h be block f−1's output (f = the span's first
// block): h = y + m, with y the residual after its attention and m its MLP
// output m = d·Wdownᵀ. The dense model's hidden state after the span's last
// block is L. We fit T minimising ‖y + m·T − L‖² (+ ridge λ‖T − I‖², so no
// data means no change) and set Wdown ← Tᵀ·Wdown: the block then outputs
// y + m·T exactly, with no added layer. That needs a block before the span,
// so a span that starts at block 0 is refused.
//
// The inputs (y, m) come from the pruned model as healed so far (spans are
// fitted in order), the targets L from the dense model: each span's map
// corrects what the pruned model actually feeds it.
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
class ModelSession;

struct LinearHealOptions {
    // λ as a share of the mean diagonal of mᵀm (scale-free); > 0 keeps the
    // normal equations well posed when there are fewer tokens than dimensions.
    double ridge = 1e-3;
    int64_t seq_len = 128;
    int64_t max_windows = 64;
    void validate() const; // throws Error naming the bad setting
};

struct LinearHealSpan {
    int first = 0, last = 0; // the dropped blocks first..last
    int host = 0;            // the block whose down_proj holds the map (first − 1)
    // ‖h − L‖ / ‖L‖ on the fitting tokens, h the host's output without and with the map
    double rel_err_before = 0, rel_err_after = 0;
};

struct LinearHealResult {
    std::shared_ptr<Model> model; // `pruned` with the maps merged
    std::vector<LinearHealSpan> spans;
    int64_t tokens = 0;
    double seconds = 0;
};

// The windows a map is fitted on: `text` cut as the plan's healing stage cuts
// it (seq_len tokens, the first max_windows).
TokenWindows linearHealWindows(const ModelSession& session, const std::string& text, const LinearHealOptions& options);

// Contiguous runs of the (sorted, unique) dropped blocks.
std::vector<std::pair<int, int>> droppedSpans(const std::vector<int>& dropBlocks);

// Throws Error when a span cannot be healed this way (it starts at block 0).
void checkLinearHealable(const std::vector<int>& dropBlocks, int nBlocks);

// `pruned` shares `dense`'s shape except for the dropped blocks (skipped
// here, not removed). Cancelling (the progress callback returns false) throws.
LinearHealResult healLinear(const Model& dense, const Model& pruned, const std::vector<int>& dropBlocks,
                            const TokenWindows& windows, const LinearHealOptions& options, const ProgressFn& progress = {});

} // namespace tailor
