#include "batch_throughput.h"
#include "packed_forward.h"
#include "huge_pages.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>

namespace tailor {

using Clock = std::chrono::steady_clock;

BatchThroughputOptions batchOptions(const DecodeSpeedOptions& s, int64_t batch)
{
    BatchThroughputOptions b;
    b.batch = batch;
    b.prompt_tokens = s.prompt_tokens;
    b.decode_tokens = s.decode_tokens;
    b.repeats = s.repeats;
    b.threads = s.threads;
    b.drop_blocks = s.drop_blocks;
    return b;
}

BatchThroughput measureBatchThroughput(const Model& model, const BatchThroughputOptions& opt, const ProgressFn& progress)
{
    if (opt.batch < 1 || opt.prompt_tokens < 1 || opt.decode_tokens < 1 || opt.repeats < 1)
        throw Error("throughput runs need at least one sequence, one prompt token, one decoded token and one repeat");
    const ModelConfig& c = model.config();
    const int64_t B = opt.batch, P = opt.prompt_tokens, D = opt.decode_tokens, positions = P + D;
    requireSpeedRunFits(c, P, D);
    BatchThroughput r;
    r.batch = B;
    setComputeThreads(opt.threads);
    at::NoGradGuard ng;
    const std::vector<bool> skip = blockSkipMask(model, opt.drop_blocks);
    std::vector<int> kept;
    for (int b = 0; b < model.nBlocks(); ++b)
        if (!skip[std::size_t(b)])
            kept.push_back(b);
    // fp32 copies of the kept blocks when they fit in half of the free memory
    // (as the batch-1 decoder decides); otherwise each step widens a block
    // again, which is what a checkpoint too large for fp32 costs this path.
    int64_t blockBytes = 0;
    for (int b : kept)
        blockBytes += 4 * c.blockParameters(b);
    // Block-typed weights multiply on int8 GEMM as they are stored (#32),
    // the way the batch-1 decoder runs them: no fp32 copy.
    const auto packed = decode::PackedForward::ifPacked(model, !opt.exact_products);
    r.int8_products = packed != nullptr;
    r.weights_widened_once = !r.int8_products && blockBytes < decode::availableMemory() / 2;
    std::vector<BlockWeights> wide;
    if (r.weights_widened_once)
        for (int b : kept)
            wide.push_back(model.block(b));
    const auto weights = [&](std::size_t i) { return r.weights_widened_once ? wide[i] : model.block(kept[i]); };
    const RopeTable rope = makeRope(c, positions);
    const at::Tensor head = r.int8_products ? at::Tensor() : model.lmHead(), norm = model.finalNorm();

    // a different prompt per sequence
    const int64_t vocab = c.vocab_size;
    at::Tensor prompt = at::empty({B, P}, at::kLong);
    for (int64_t s = 0; s < B; ++s) {
        const std::vector<int32_t> ids = speedPrompt(vocab, P, s);
        for (int64_t i = 0; i < P; ++i)
            prompt[s][i] = ids[std::size_t(i)];
    }

    std::vector<double> pre, dec;
    const int total = opt.repeats + 1;
    at::Tensor ids, logits;
    for (int run = 0; run < total; ++run) {
        std::vector<KvCache> caches(kept.size());
        const auto forward = [&](const at::Tensor& tokens) {
            at::Tensor h = model.embed(tokens);
            for (std::size_t i = 0; i < kept.size(); ++i)
                h = r.int8_products ? packed->block(kept[i], h, rope, &caches[i]) : blockForward(weights(i), c, h, rope, nullptr, &caches[i]);
            const at::Tensor last = rmsNorm(h.select(1, h.size(1) - 1), norm, c.rms_norm_eps); // [B, hidden]
            // headLogits would widen an lm_head above the fp32 cache limit at every step
            return r.int8_products ? packed->head()(TensorRole::Output, last) : at::linear(last, head); // [B, vocab]
        };
        auto t0 = Clock::now();
        logits = forward(prompt);
        const double tp = std::chrono::duration<double>(Clock::now() - t0).count();
        std::vector<at::Tensor> generated;
        t0 = Clock::now();
        for (int64_t i = 0; i < D; ++i) {
            const at::Tensor next = logits.argmax(-1).unsqueeze(1); // [B, 1], greedy
            generated.push_back(next);
            logits = forward(next);
        }
        const double td = std::chrono::duration<double>(Clock::now() - t0).count();
        if (run > 0) {
            pre.push_back(double(B * P) / std::max(tp, 1e-9));
            dec.push_back(double(B * D) / std::max(td, 1e-9));
        }
        if (run + 1 == total)
            ids = at::cat({prompt, at::cat(generated, 1)}, 1);
        reportProgress(progress, double(run + 1) / total,
                       "batch-" + std::to_string(B) + " run " + std::to_string(run + 1) + "/" + std::to_string(total));
    }
    r.prefill = speedStats(pre);
    r.decode = speedStats(dec);
    r.threads = at::get_num_threads();
    const at::Tensor idc = ids.contiguous(), lc = logits.contiguous();
    for (int64_t s = 0; s < B; ++s) {
        // the last generated token was fed but its successor not chosen: the
        // logits belong to the sequence of P + D tokens
        r.tokens.emplace_back(idc[s].data_ptr<int64_t>(), idc[s].data_ptr<int64_t>() + P + D);
        r.last_logits.emplace_back(lc[s].data_ptr<float>(), lc[s].data_ptr<float>() + vocab);
    }
    return r;
}

} // namespace tailor
