#include "block_importance.h"
#include "core/model/arch_table.h"
#include "core/util/allocator_policy.h"
#include "core/util/block_list.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/memory_estimate.h"
#include "core/eval/perplexity.h"

#include <ATen/core/grad_mode.h>
#include <algorithm>
#include <chrono>
#include <set>

namespace tailor {

std::vector<int> taylorPlusExcluded(int n)
{
    // Resolved like any typed list, but clipped: a model shorter than six
    // blocks keeps what exists instead of failing.
    std::set<int> s;
    for (int b : parseBlockList(kTaylorPlusExclusion, -1, "Taylor+ exclusion")) // -1: keep the signs
        if (const int r = b < 0 ? n + b : b; r >= 0 && r < n)
            s.insert(r);
    return {s.begin(), s.end()};
}

namespace {

struct ScanContext {
    const Model& model;
    const TokenWindows& calib;
    const BlockScanOptions& opt;
    std::vector<bool> skip;
    int from = 0, to = 0; // inclusive shard
    at::Tensor ids;       // [N, T]
    RopeTable rope;
};

std::vector<int> remainingBlocks(const std::vector<bool>& skip)
{
    std::vector<int> r;
    for (int i = 0; i < int(skip.size()); ++i)
        if (!skip[i])
            r.push_back(i);
    return r;
}

// PPL criterion and Block Influence from cached block inputs, one batch of windows at a time.
void scanForward(ScanContext& c, BlockScanResult& res, const ProgressFn& progress, double share,
                 const std::function<void(const BlockScanResult&)>& partial)
{
    at::NoGradGuard guard; // not InferenceMode: cached weights must stay usable by autograd (Taylor)
    const auto blocks = remainingBlocks(c.skip);
    const int L = c.model.nBlocks();
    const int64_t N = c.calib.count, T = c.calib.seq_len;
    const int64_t batch = std::max<int64_t>(1, c.opt.batch_tokens / T);
    std::vector<double> dropNll(L, 0.0), cosSum(L, 0.0);
    double denseNll = 0;
    // work units: per batch one dense pass (|blocks|) + the tails of the dropped runs
    double unitsPerBatch = double(blocks.size());
    for (int i : blocks)
        if (i >= c.from && i <= c.to && c.opt.ppl)
            unitsPerBatch += double(std::count_if(blocks.begin(), blocks.end(), [&](int j) { return j > i; }));
    const double totalUnits = unitsPerBatch * double((N + batch - 1) / batch);
    double done = 0;
    auto tick = [&](double units, const std::string& stage) {
        done += units;
        reportProgress(progress, share * done / totalUnits, stage);
    };
    for (int64_t b0 = 0; b0 < N; b0 += batch) {
        const int64_t n = std::min(batch, N - b0);
        const at::Tensor ids = c.ids.narrow(0, b0, n);
        std::vector<at::Tensor> input(L); // hidden state entering block i
        at::Tensor h = c.model.embed(ids);
        for (int i : blocks) {
            input[i] = h;
            h = blockForward(c.model.block(i), c.model.config(), h, c.rope);
            if (c.opt.bi && i >= c.from && i <= c.to)
                cosSum[i] += at::cosine_similarity(input[i], h, -1).to(at::kDouble).sum().item<double>();
            tick(1, "dense pass");
        }
        denseNll += windowsNll(c.model, h, ids);
        if (!c.opt.ppl)
            continue;
        for (int i : blocks) {
            if (i < c.from || i > c.to)
                continue;
            at::Tensor hd = input[i];
            int ran = 0;
            for (int j : blocks)
                if (j > i) {
                    hd = blockForward(c.model.block(j), c.model.config(), hd, c.rope);
                    ++ran;
                }
            dropNll[i] += windowsNll(c.model, hd, ids);
            tick(ran, "PPL without block " + std::to_string(i));
            if (b0 + n == N) {
                res.blocks[i].ppl = std::exp(dropNll[i] / double(c.calib.predictedTokens()));
                if (partial)
                    partial(res);
            }
        }
    }
    res.dense_ppl = std::exp(denseNll / double(c.calib.predictedTokens()));
    if (c.opt.bi)
        for (int i : blocks)
            if (i >= c.from && i <= c.to)
                res.blocks[i].bi = 1.0 - cosSum[i] / double(N * T);
    if (partial)
        partial(res);
}

// Σ|W ⊙ G| in double. Rows are taken a few MB at a time and widened to fp32
// there, so scoring a 7B matrix (or the bf16 embedding table) adds no
// full-size temporaries to the peak.
double taylorSum(const at::Tensor& w, const at::Tensor& g)
{
    at::NoGradGuard ng;
    if (!g.defined()) // a mixture's expert no calibration token reached: no gradient, no first-order effect
        return 0.0;
    const at::Tensor w2 = w.reshape({w.size(0), -1}), g2 = g.reshape({g.size(0), -1});
    const int64_t rows = std::max<int64_t>(1, (int64_t(4) << 20) / std::max<int64_t>(1, w2.size(1)));
    double sum = 0;
    for (int64_t r = 0; r < w2.size(0); r += rows) {
        const int64_t n = std::min(rows, w2.size(0) - r);
        sum += (w2.narrow(0, r, n).to(at::kFloat) * g2.narrow(0, r, n)).abs_().sum(at::kDouble).item<double>();
    }
    return sum;
}

// Windows per backward chunk in the block-by-block Taylor pass: the saved
// activations of one block (~8 hidden-wide and 4 intermediate-wide tensors per
// token, plus the attention scores) are kept near kChunkBytes; at least one window.
int64_t taylorChunkWindows(const ModelConfig& cfg, int64_t T)
{
    constexpr int64_t kChunkBytes = int64_t(128) << 20;
    const int64_t perToken = 4 * (8 * cfg.hidden_size + 4 * cfg.intermediate_size + 2 * cfg.n_head * T);
    const int64_t perWindowHead = 4 * 3 * T * cfg.vocab_size; // logits, log-softmax and its gradient
    return std::max<int64_t>(1, kChunkBytes / std::max(perToken * T, perWindowHead));
}

// The untied lm_head's part of the backward pass without its fp32 copy or
// gradient (2 × 0.5 GB on a 7B): logits are computed a slice of the vocabulary
// at a time from the stored weights, twice (the log-normaliser first, then the
// gradient), and each slice's Σ|W ⊙ G| is taken at once. dh is the gradient of
// the mean NLL with respect to the final hidden states.
struct SlicedHead {
    at::Tensor dh;
    double norm_score = 0, head_score = 0;
};

SlicedHead slicedHeadBackward(const Model& m, const at::Tensor& h, const at::Tensor& ids)
{
    const ModelConfig& cfg = m.config();
    const int64_t N = h.size(0), T = h.size(1), H = h.size(2);
    at::Tensor norm = m.finalNorm().detach().requires_grad_(true);
    at::Tensor hL = h.detach().requires_grad_(true);
    at::Tensor xn;
    {
        at::AutoGradMode on(true);
        xn = rmsNorm(hL, norm, cfg.rms_norm_eps);
    }
    SlicedHead r;
    {
        at::NoGradGuard ng;
        const at::Tensor x = xn.detach().narrow(1, 0, T - 1).reshape({-1, H}); // predicting positions
        const at::Tensor tgt = ids.narrow(1, 1, T - 1).reshape({-1});
        const int64_t P = x.size(0);
        const at::Tensor W = m.raw(hfTensorName(TensorRole::Output));
        const int64_t V = W.size(0);
        const int64_t rows = std::max<int64_t>(1, (int64_t(64) << 20) / (4 * (P + 2 * H)));
        at::Tensor lse = at::full({P}, -std::numeric_limits<float>::infinity());
        for (int64_t v = 0; v < V; v += rows) {
            const int64_t n = std::min(rows, V - v);
            lse = at::logaddexp(lse, at::logsumexp(at::mm(x, W.narrow(0, v, n).to(at::kFloat).t()), 1));
        }
        at::Tensor dx = at::zeros({P, H});
        for (int64_t v = 0; v < V; v += rows) {
            const int64_t n = std::min(rows, V - v);
            const at::Tensor wf = W.narrow(0, v, n).to(at::kFloat);
            // dNLL/dz = (softmax - one-hot) / P for the mean over P predictions
            at::Tensor p = (at::mm(x, wf.t()) - lse.unsqueeze(1)).exp_();
            const at::Tensor hit = ((tgt >= v) & (tgt < v + n)).nonzero().squeeze(1);
            p.index_put_({hit, tgt.index_select(0, hit) - v}, at::full({}, -1.0f), /*accumulate=*/true);
            p.mul_(1.0 / double(P));
            r.head_score += (wf * at::mm(p.t(), x)).abs_().sum(at::kDouble).item<double>();
            dx.addmm_(p, wf);
        }
        at::Tensor dxn = at::zeros_like(xn);
        dxn.narrow(1, 0, T - 1).copy_(dx.view({N, T - 1, H}));
        xn.backward(dxn); // through the final norm (autograd records regardless of this guard)
    }
    r.dh = hL.grad();
    r.norm_score = taylorSum(norm, norm.grad());
    return r;
}

// Taylor importance block by block: forward storing block inputs, backward
// through the head, then through each block from the last to the first with
// that block's weights as fresh leaves. Head and blocks are back-propagated a
// few windows at a time (gradients accumulate in the leaves), so the graph in
// memory is one block's for a few windows, whatever the calibration size.
void scanTaylor(ScanContext& c, BlockScanResult& res, const ProgressFn& progress, double start,
                const std::function<void(const BlockScanResult&)>& partial)
{
    const auto blocks = remainingBlocks(c.skip);
    const int L = c.model.nBlocks();
    const ModelConfig& cfg = c.model.config();
    const int64_t N = c.ids.size(0), T = c.ids.size(1);
    const int64_t chunk = c.opt.taylor_chunk_windows > 0 ? c.opt.taylor_chunk_windows : taylorChunkWindows(cfg, T);
    std::vector<at::Tensor> input(L);
    at::Tensor h;
    {
        at::NoGradGuard ng;
        h = c.model.embed(c.ids);
        for (int i : blocks) {
            input[i] = h;
            h = blockForward(c.model.block(i), cfg, h, c.rope);
        }
    }
    releaseFreedMemory(); // the forward's freed fp32 block copies (kept for reuse otherwise)
    at::AutoGradMode grad(true);
    const double total = double(blocks.size() + 1);
    double done = 0;
    reportProgress(progress, start + (1 - start) * done / total, "Taylor: head");
    at::Tensor g, headGrad;
    if (cfg.tie_word_embeddings) {
        // the tied head's gradient is kept for the embedding's score at the end
        at::Tensor norm = c.model.finalNorm().detach().requires_grad_(true);
        at::Tensor head = c.model.lmHead().detach().requires_grad_(true);
        g = at::empty_like(h);
        for (int64_t b = 0; b < N; b += chunk) {
            const int64_t n = std::min(chunk, N - b);
            at::Tensor hc = h.narrow(0, b, n).detach().requires_grad_(true);
            const at::Tensor logits = at::linear(rmsNorm(hc, norm, cfg.rms_norm_eps), head);
            // this chunk's share of the mean over all windows
            (meanNllDifferentiable(logits, c.ids.narrow(0, b, n)) * (double(n) / double(N))).backward();
            g.narrow(0, b, n).copy_(hc.grad());
        }
        res.taylor_matrix[hfTensorName(TensorRole::OutputNorm)] = taylorSum(norm, norm.grad());
        headGrad = head.grad();
    } else {
        const SlicedHead sh = slicedHeadBackward(c.model, h, c.ids);
        g = sh.dh;
        res.taylor_matrix[hfTensorName(TensorRole::OutputNorm)] = sh.norm_score;
        if (c.from == 0)
            res.taylor_matrix[hfTensorName(TensorRole::Output)] = sh.head_score;
    }
    h = at::Tensor();
    releaseFreedMemory();
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
        const int i = *it;
        if (i < c.from) // blocks below the shard need no gradient
            break;
        BlockWeights w = c.model.block(i);
        for (auto* t : w.all())
            *t = t->detach().requires_grad_(true);
        at::Tensor gin = at::empty_like(input[i]);
        for (int64_t b = 0; b < N; b += chunk) {
            const int64_t n = std::min(chunk, N - b);
            at::Tensor hin = input[i].narrow(0, b, n).detach().requires_grad_(true);
            blockForward(w, cfg, hin, c.rope).backward(g.narrow(0, b, n));
            gin.narrow(0, b, n).copy_(hin.grad());
        }
        g = gin;
        input[i] = at::Tensor();
        if (i <= c.to) {
            double sum = 0;
            for (auto& [name, t] : w.named(cfg, i)) {
                const double s = taylorSum(*t, t->grad());
                res.taylor_matrix[name] = s;
                sum += s;
            }
            res.blocks[i].taylor = sum;
        }
        w = BlockWeights();
        releaseFreedMemory(); // the block's graph and gradients (peak RSS on a 7B)
        done += 1;
        reportProgress(progress, start + (1 - start) * done / total, "Taylor: block " + std::to_string(i));
        if (partial)
            partial(res);
    }
    // Embedding table: gradient of the lookup (+ lm_head's when tied); only
    // meaningful when the shard reaches block 0. Untied, only the rows of
    // tokens in the calibration text have a gradient, so only they are scored.
    if (c.from == 0) {
        at::NoGradGuard ng;
        const at::Tensor emb = c.model.raw(hfTensorName(TensorRole::TokenEmbd));
        const at::Tensor flatIds = c.ids.reshape({-1}), flatG = g.reshape({-1, g.size(-1)});
        if (cfg.tie_word_embeddings) {
            headGrad.index_add_(0, flatIds, flatG);
            res.taylor_matrix[hfTensorName(TensorRole::TokenEmbd)] = taylorSum(emb, headGrad);
        } else {
            const auto [used, slot] = at::_unique(flatIds, /*sorted=*/true, /*return_inverse=*/true);
            at::Tensor eg = at::zeros({used.size(0), g.size(-1)}, g.options());
            eg.index_add_(0, slot, flatG);
            res.taylor_matrix[hfTensorName(TensorRole::TokenEmbd)] = taylorSum(emb.index_select(0, used), eg);
        }
    }
}

// Small models: one forward with autograd through every block and one
// backward (~3 forwards instead of ~4 for the block-wise recomputation).
void scanTaylorWholeGraph(ScanContext& c, BlockScanResult& res, const ProgressFn& progress, double start,
                          const std::function<void(const BlockScanResult&)>& partial)
{
    const auto blocks = remainingBlocks(c.skip);
    const ModelConfig& cfg = c.model.config();
    at::AutoGradMode grad(true);
    reportProgress(progress, start, "Taylor: forward");
    at::Tensor emb = c.model.raw(hfTensorName(TensorRole::TokenEmbd)).to(at::kFloat).detach().requires_grad_(true);
    std::map<int, BlockWeights> weights;
    at::Tensor h = at::embedding(emb, c.ids);
    for (int i : blocks) {
        BlockWeights w = c.model.block(i);
        for (auto* t : w.all())
            *t = t->detach().requires_grad_(true);
        h = blockForward(w, cfg, h, c.rope);
        weights[i] = w;
    }
    at::Tensor norm = c.model.finalNorm().detach().requires_grad_(true);
    at::Tensor head = cfg.tie_word_embeddings ? emb : c.model.lmHead().detach().requires_grad_(true);
    reportProgress(progress, start + (1 - start) * 0.4, "Taylor: backward");
    meanNllDifferentiable(at::linear(rmsNorm(h, norm, cfg.rms_norm_eps), head), c.ids).backward();
    at::NoGradGuard ng;
    res.taylor_matrix[hfTensorName(TensorRole::OutputNorm)] = taylorSum(norm, norm.grad());
    res.taylor_matrix[hfTensorName(TensorRole::TokenEmbd)] = taylorSum(emb, emb.grad()); // lookup + tied head
    if (!cfg.tie_word_embeddings)
        res.taylor_matrix[hfTensorName(TensorRole::Output)] = taylorSum(head, head.grad());
    for (auto& [i, w] : weights) {
        if (i < c.from || i > c.to)
            continue;
        double sum = 0;
        for (auto& [name, t] : w.named(cfg, i)) {
            const double v = taylorSum(*t, t->grad());
            res.taylor_matrix[name] = v;
            sum += v;
        }
        res.blocks[std::size_t(i)].taylor = sum;
    }
    if (partial)
        partial(res);
}

} // namespace

BlockScanResult scanBlocks(const Model& model, const TokenWindows& calib, const BlockScanOptions& opt,
                           const ProgressFn& progress, const std::function<void(const BlockScanResult&)>& partial)
{
    setComputeThreads(opt.threads);
    const auto t0 = std::chrono::steady_clock::now();
    requireMemory(model.checkpoint().dir() + ": block scan",
                  estimateMemory(model.config(), model.checkpoint().totalBytes(), opt.taylor ? MemoryJob::Taylor : MemoryJob::BlockScan,
                                 calib.count * calib.seq_len));
    const int L = model.nBlocks();
    const int to = opt.only_to < 0 ? L - 1 : opt.only_to;
    if (opt.only_from < 0 || opt.only_from > to || to >= L)
        throw Error("block range " + std::to_string(opt.only_from) + "-" + std::to_string(to) +
                    " is outside the model's blocks 0-" + std::to_string(L - 1));
    if (enabledCriteria(opt).empty())
        throw Error("no criterion selected");
    ScanContext c{model, calib, opt, blockSkipMask(model, opt.pre_dropped), opt.only_from, to, {}, {}};
    int candidates = 0, present = 0;
    std::set<int> excl;
    for (int e : opt.excluded) {
        if (e < 0 || e >= L)
            throw Error("excluded block " + std::to_string(e) + " is out of range (0-" + std::to_string(L - 1) + ")");
        excl.insert(e);
    }
    BlockScanResult res;
    res.blocks.resize(L);
    for (int i = 0; i < L; ++i) {
        res.blocks[i].index = i;
        res.blocks[i].excluded = excl.count(i) > 0;
        res.blocks[i].computed = i >= c.from && i <= c.to && !c.skip[i];
        candidates += !res.blocks[i].excluded && !c.skip[i];
        present += !c.skip[i];
    }
    if (present == 0)
        throw Error("every block is already dropped: nothing is left to score");
    // A small model (5 blocks under Taylor+'s six exclusions) is still scored
    // in full; the user is told that no block is a candidate.
    if (candidates == 0)
        res.warnings.push_back("every block of this " + std::to_string(L) +
                               "-block model is excluded from pruning (exclusions: " + [&] {
                                   std::string l;
                                   for (int e : excl)
                                       l += (l.empty() ? "" : ",") + std::to_string(e);
                                   return l;
                               }() + "): the scores are shown, but no block is a candidate; use --exclude none to rank them all");
    c.ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong);
    c.rope = makeRope(model.config(), calib.seq_len);
    const double forwardShare = opt.taylor ? (opt.ppl || opt.bi ? 0.6 : 0.0) : 1.0;
    if (opt.ppl || opt.bi)
        scanForward(c, res, progress, forwardShare, partial);
    // Whole-graph autograd while the model's fp32 copy is small; block by block
    // (bounded memory) otherwise. The choice depends on the model only, so shards agree.
    if (opt.taylor && !opt.taylor_blockwise && model.config().totalParameters() * 4 <= Model::kFp32CacheBytes)
        scanTaylorWholeGraph(c, res, progress, forwardShare, partial);
    else if (opt.taylor)
        scanTaylor(c, res, progress, forwardShare, partial);
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    reportProgress(progress, 1.0, "done");
    return res;
}

const std::vector<CriterionRow>& blockCriteria()
{
    static const std::vector<CriterionRow> rows{
        {Criterion::Ppl, "ppl", "PPL", "PPL without the block (lower = less important)", true, true, 4, &BlockScore::ppl,
         &BlockScanOptions::ppl},
        {Criterion::Taylor, "taylor", "Taylor", "Taylor importance \u03a3|W\u00b7\u2202L/\u2202W|", true, false, 4, &BlockScore::taylor,
         &BlockScanOptions::taylor},
        {Criterion::Bi, "bi", "BI", "Block Influence 1 \u2212 cos(h_in, h_out)", true, false, 5, &BlockScore::bi, &BlockScanOptions::bi},
    };
    return rows;
}

const CriterionRow& criterionRow(Criterion c)
{
    for (const auto& r : blockCriteria())
        if (r.id == c)
            return r;
    throw Error("criterion without a row in blockCriteria()");
}

Criterion criterionFromName(const std::string& n)
{
    std::string keys;
    for (const auto& r : blockCriteria()) {
        if (n == r.key)
            return r.id;
        keys += (keys.empty() ? "" : ", ") + std::string(r.key);
    }
    throw Error("unknown criterion '" + n + "' (" + keys + ")");
}

const char* criterionName(Criterion c) { return criterionRow(c).key; }

double scoreOf(const BlockScore& b, Criterion c) { return b.*criterionRow(c).score; }

std::vector<std::string> enabledCriteria(const BlockScanOptions& opt)
{
    std::vector<std::string> keys;
    for (const auto& r : blockCriteria())
        if (opt.*r.enabled)
            keys.push_back(r.key);
    return keys;
}

void enableCriteria(BlockScanOptions& opt, const std::vector<Criterion>& only)
{
    for (const auto& r : blockCriteria())
        opt.*r.enabled = std::find(only.begin(), only.end(), r.id) != only.end();
}

std::vector<int> suggestOneShot(const BlockScanResult& r, Criterion c, int k)
{
    std::vector<const BlockScore*> cand;
    for (const auto& b : r.blocks)
        if (!b.excluded && !std::isnan(scoreOf(b, c)))
            cand.push_back(&b);
    if (k < 1 || k > int(cand.size()))
        throw Error("cannot suggest " + std::to_string(k) + " blocks: " + std::to_string(cand.size()) +
                    " candidates have a " + criterionName(c) + " score");
    const bool higherKept = criterionRow(c).higher_is_important;
    std::stable_sort(cand.begin(), cand.end(), [&](const BlockScore* a, const BlockScore* b) {
        return higherKept ? scoreOf(*a, c) < scoreOf(*b, c) : scoreOf(*a, c) > scoreOf(*b, c);
    });
    std::vector<int> out;
    for (int i = 0; i < k; ++i)
        out.push_back(cand[i]->index);
    return out;
}

std::vector<int> suggestIterative(const Model& model, const TokenWindows& calib, Criterion c, int k,
                                  const BlockScanOptions& base, const ProgressFn& progress)
{
    std::vector<int> dropped = base.pre_dropped;
    std::vector<int> chosen;
    for (int step = 0; step < k; ++step) {
        BlockScanOptions opt = base;
        opt.ppl = c == Criterion::Ppl;
        opt.taylor = c == Criterion::Taylor;
        opt.bi = c == Criterion::Bi;
        opt.pre_dropped = dropped;
        auto sub = [&](const Progress& p) {
            return !progress || progress({(step + p.fraction) / k, "step " + std::to_string(step + 1) + ": " + p.stage});
        };
        const BlockScanResult r = scanBlocks(model, calib, opt, sub);
        const int pick = suggestOneShot(r, c, 1).front();
        chosen.push_back(pick);
        dropped.push_back(pick);
    }
    return chosen;
}

DropSavings dropSavings(const Model& model, const std::vector<int>& drop)
{
    const ModelConfig& c = model.config();
    blockSkipMask(model, drop); // validates
    DropSavings s;
    s.parameters_before = c.totalParameters();
    s.parameters_after = s.parameters_before - int64_t(drop.size()) * c.blockParameters();
    s.param_reduction = 1.0 - double(s.parameters_after) / double(s.parameters_before);
    const double blockFlops = double(c.blockParameters() - 2 * c.hidden_size); // linears only
    const double total = blockFlops * double(c.n_layer) + double(c.vocab_size * c.hidden_size);
    s.flop_reduction = blockFlops * double(drop.size()) / total;
    return s;
}

} // namespace tailor
