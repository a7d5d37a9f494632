#include "linear_heal.h"

#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace tailor {

void LinearHealOptions::validate() const
{
    if (!(ridge >= 0) || !std::isfinite(ridge))
        throw Error("linear heal: ridge must be a number >= 0, got " + std::to_string(ridge));
    if (seq_len < 2)
        throw Error("linear heal: seq_len must be at least 2, got " + std::to_string(seq_len));
    if (max_windows < 0)
        throw Error("linear heal: max_windows must be >= 0 (0 = every window), got " + std::to_string(max_windows));
}

TokenWindows linearHealWindows(const ModelSession& session, const std::string& text, const LinearHealOptions& options)
{
    return cutWindows(session.tokenizeFile(text), options.seq_len, options.max_windows, text + " (healing text)");
}

std::vector<std::pair<int, int>> droppedSpans(const std::vector<int>& dropBlocks)
{
    std::vector<int> b = dropBlocks;
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    std::vector<std::pair<int, int>> spans;
    for (int x : b) {
        if (!spans.empty() && spans.back().second + 1 == x)
            spans.back().second = x;
        else
            spans.emplace_back(x, x);
    }
    return spans;
}

void checkLinearHealable(const std::vector<int>& dropBlocks, int nBlocks)
{
    if (dropBlocks.empty())
        throw Error("linear heal: no blocks are dropped, so there is nothing to replace");
    for (const auto& [first, last] : droppedSpans(dropBlocks)) {
        if (first == 0)
            throw Error("linear heal: the dropped span " + std::to_string(first) + ".." + std::to_string(last) +
                        " starts at block 0; the map is merged into the block before the span, and there is none");
        if (last >= nBlocks)
            throw Error("linear heal: block " + std::to_string(last) + " does not exist (the model has " + std::to_string(nBlocks) + ")");
    }
}

LinearHealResult healLinear(const Model& dense, const Model& pruned, const std::vector<int>& dropBlocks,
                            const TokenWindows& windows, const LinearHealOptions& opt, const ProgressFn& progress)
{
    opt.validate();
    const auto start = std::chrono::steady_clock::now();
    const ModelConfig& c = dense.config();
    checkLinearHealable(dropBlocks, int(c.n_layer));
    if (windows.count == 0)
        throw Error("linear heal: the fitting text gives no window of " + std::to_string(windows.seq_len) + " tokens");
    at::NoGradGuard noGrad;
    const int64_t H = c.hidden_size, T = windows.seq_len;
    const int64_t n = opt.max_windows > 0 ? std::min(windows.count, opt.max_windows) : windows.count;
    const RopeTable rope = makeRope(c, T);
    const auto spans = droppedSpans(dropBlocks);
    std::vector<bool> skip(std::size_t(c.n_layer), false);
    for (int b : dropBlocks)
        skip[std::size_t(b)] = true;

    LinearHealResult res;
    res.model = pruned.derive();
    res.tokens = n * T;
    constexpr int64_t kBatch = 4; // windows per forward
    const int64_t batches = (n + kBatch - 1) / kBatch;
    for (std::size_t s = 0; s < spans.size(); ++s) {
        const auto [first, last] = spans[s];
        const int host = first - 1;
        at::Tensor A = at::zeros({H, H}, at::kDouble), B = at::zeros({H, H}, at::kDouble);
        double sumR2 = 0, sumL2 = 0;
        const BlockWeights hostW = res.model->block(host);
        for (int64_t bi = 0; bi < batches; ++bi) {
            const int64_t w0 = bi * kBatch, nw = std::min(kBatch, n - w0);
            const at::Tensor ids =
                at::from_blob(const_cast<int64_t*>(windows.ids.data() + w0 * T), {nw, T}, at::kLong).clone();
            // the pruned model (earlier spans healed) up to the host block, and the host's parts
            at::Tensor h = runBlocks(*res.model, res.model->embed(ids), 0, host, rope, skip);
            LinearInputs in;
            const at::Tensor out = blockForward(hostW, res.model->config(), h, rope, &in);
            const at::Tensor m = at::matmul(in.down_in, hostW.w_down.t());
            const at::Tensor y = out - m;
            // the dense model's hidden state after the span
            const at::Tensor L = runBlocks(dense, dense.embed(ids), 0, last + 1, rope);
            const at::Tensor m2 = m.reshape({-1, H}).to(at::kDouble);
            const at::Tensor r2 = (L - y).reshape({-1, H}).to(at::kDouble);
            A += m2.t().mm(m2);
            B += m2.t().mm(r2);
            sumR2 += r2.pow(2).sum().item<double>();
            sumL2 += L.to(at::kDouble).pow(2).sum().item<double>();
            reportProgress(progress, (double(s) + double(bi + 1) / double(batches)) / double(spans.size()),
                           "span " + std::to_string(first) + ".." + std::to_string(last));
        }
        const double lambda = opt.ridge * A.diagonal().mean().item<double>();
        const at::Tensor I = at::eye(H, at::kDouble);
        const at::Tensor Tmap = at::linalg_solve(A + lambda * I, B + lambda * I);
        // ‖R − m·X‖² = ‖R‖² − 2 tr(Xᵀ B) + tr(Xᵀ A X), R = L − y
        const auto residual = [&](const at::Tensor& X) {
            return std::max(0.0, sumR2 - 2 * (X * B).sum().item<double>() + (X * A.mm(X)).sum().item<double>());
        };
        LinearHealSpan span;
        span.first = first, span.last = last, span.host = host;
        span.rel_err_before = std::sqrt(residual(I) / std::max(sumL2, 1e-300));
        span.rel_err_after = std::sqrt(residual(Tmap) / std::max(sumL2, 1e-300));
        res.spans.push_back(span);
        // m·T = d·Wdownᵀ·T = d·(Tᵀ·Wdown)ᵀ
        const at::Tensor merged = Tmap.t().mm(hostW.w_down.to(at::kDouble)).to(at::kFloat).contiguous();
        res.model->replace(hfTensorName(TensorRole::FfnDown, host), merged);
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return res;
}

} // namespace tailor
