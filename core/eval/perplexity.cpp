#include "perplexity.h"
#include "core/decode/packed_forward.h"
#include "core/model/memory_estimate.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"

#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cmath>

namespace tailor {

std::vector<bool> blockSkipMask(const Model& model, const std::vector<int>& dropBlocks)
{
    const int n = model.nBlocks();
    std::vector<bool> skip(n, false);
    for (int b : dropBlocks) {
        if (b < 0 || b >= n)
            throw Error("block " + std::to_string(b) + " is out of range (the model has " + std::to_string(n) +
                        " blocks: 0.." + std::to_string(n - 1) + ")");
        if (skip[b])
            throw Error("block " + std::to_string(b) + " is listed twice");
        skip[b] = true;
    }
    if (!dropBlocks.empty() && int(dropBlocks.size()) == n)
        throw Error("cannot drop every block of the model");
    return skip;
}

EvalResult evaluateWindows(const Model& model, const TokenWindows& w, const EvalOptions& opt,
                           const ProgressFn& progress)
{
    setComputeThreads(opt.threads);
    requireMemory(model.checkpoint().dir() + ": evaluation",
                  estimateMemory(model.config(), model.checkpoint().totalBytes(), MemoryJob::Evaluate, w.count * w.seq_len));
    at::NoGradGuard guard; // not InferenceMode: cached weights must stay usable by autograd (Taylor)
    const auto skip = blockSkipMask(model, opt.drop_blocks);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t L = w.seq_len;
    const int64_t batch = std::max<int64_t>(1, opt.batch_tokens / L);
    const at::Tensor all = at::from_blob(const_cast<int64_t*>(w.ids.data()), {w.count, L}, at::kLong);
    const RopeTable rope = makeRope(model.config(), L);
    double nll = 0;
    const auto packed = decode::PackedForward::ifPacked(model, opt.int8_products);
    reportProgress(progress, 0.0, "evaluating " + std::to_string(w.count) + " windows");
    for (int64_t b = 0; b < w.count; b += batch) {
        const int64_t n = std::min(batch, w.count - b);
        const at::Tensor ids = all.narrow(0, b, n);
        at::Tensor h = model.embed(ids);
        if (packed) {
            h = packed->runBlocks(h, rope, skip);
            nll += windowsNll(model, h, ids, &packed->head());
        } else {
            h = runBlocks(model, h, 0, model.nBlocks(), rope, skip);
            nll += windowsNll(model, h, ids);
        }
        reportProgress(progress, double(b + n) / double(w.count),
                       "window " + std::to_string(b + n) + " / " + std::to_string(w.count));
    }
    EvalResult r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.windows = w.count;
    r.seq_len = L;
    r.tokens = w.count * L;
    r.predicted_tokens = w.predictedTokens();
    r.nll = nll;
    r.ppl = std::exp(nll / double(r.predicted_tokens));
    r.tokens_per_s = r.seconds > 0 ? double(r.tokens) / r.seconds : 0;
    r.int8_linears = packed ? packed->packedLinears() : 0;
    return r;
}

EvalResult evaluatePerplexity(const Model& model, const std::vector<int32_t>& ids, const EvalOptions& opt,
                              const ProgressFn& progress)
{
    return evaluateWindows(model, cutWindows(ids, opt.seq_len, opt.max_windows, opt.text_label), opt,
                           progress);
}

} // namespace tailor
