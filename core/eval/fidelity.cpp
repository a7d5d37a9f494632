#include "fidelity.h"
#include "core/decode/packed_forward.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"

#include <algorithm>
#include <cmath>

namespace tailor {

namespace {
// numpy.percentile's default (linear interpolation between closest ranks)
double percentile(const std::vector<double>& sorted, double q)
{
    if (sorted.empty())
        return 0;
    const double pos = q * double(sorted.size() - 1);
    const std::size_t lo = std::size_t(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - double(lo));
}

at::Tensor finalHidden(const Model& m, const at::Tensor& ids, const RopeTable& rope, const std::vector<bool>& skip,
                       decode::PackedForward* packed)
{
    at::Tensor h = packed ? packed->runBlocks(m.embed(ids), rope, skip) : runBlocks(m, m.embed(ids), 0, m.nBlocks(), rope, skip);
    return rmsNorm(h, m.finalNorm(), m.config().rms_norm_eps);
}

} // namespace

FidelityResult compareToBase(const Model& base, const Model& model, const TokenWindows& w, const FidelityOptions& opt,
                             const ProgressFn& progress)
{
    const int64_t V = model.config().vocab_size;
    if (base.config().vocab_size != V)
        throw Error("the base model has a vocabulary of " + std::to_string(base.config().vocab_size) + " tokens, the model " +
                    std::to_string(V) + ": KL divergence needs the same token space");
    at::NoGradGuard guard;
    const auto skipBase = blockSkipMask(base, opt.base_drop), skipModel = blockSkipMask(model, opt.model_drop);
    const int64_t L = w.seq_len, batch = std::max<int64_t>(1, opt.batch_tokens / L);
    const at::Tensor all = at::from_blob(const_cast<int64_t*>(w.ids.data()), {w.count, L}, at::kLong);
    const RopeTable ropeBase = makeRope(base.config(), L), ropeModel = makeRope(model.config(), L);
    std::vector<double> kld;
    kld.reserve(std::size_t(w.predictedTokens()));
    int64_t agree = 0;
    double nllBase = 0, nllModel = 0;
    // rows of logits per chunk: two [rows, V] double tensors of ~8 MB each
    const int64_t rows = std::max<int64_t>(1, (int64_t(8) << 20) / std::max<int64_t>(1, V * 8));
    // the model on int8 when asked; the base is the exact reference
    const auto packedModel = decode::PackedForward::ifPacked(model, opt.int8_products);
    for (int64_t b = 0; b < w.count; b += batch) {
        const int64_t n = std::min(batch, w.count - b);
        const at::Tensor ids = all.narrow(0, b, n);
        const at::Tensor hb = finalHidden(base, ids, ropeBase, skipBase, nullptr).narrow(1, 0, L - 1).reshape({-1, base.config().hidden_size});
        const at::Tensor hm = finalHidden(model, ids, ropeModel, skipModel, packedModel.get()).narrow(1, 0, L - 1).reshape({-1, model.config().hidden_size});
        const at::Tensor tgt = ids.narrow(1, 1, L - 1).reshape({-1, 1});
        const at::Tensor headB = base.lmHead(), headM = packedModel ? at::Tensor() : model.lmHead();
        for (int64_t r = 0; r < hb.size(0); r += rows) {
            const int64_t k = std::min(rows, hb.size(0) - r);
            // log-probabilities in double from the float32 logits
            const at::Tensor lb = at::log_softmax(at::linear(hb.narrow(0, r, k), headB).to(at::kDouble), -1);
            const at::Tensor lm = at::log_softmax(
                (packedModel ? packedModel->head()(TensorRole::Output, hm.narrow(0, r, k)) : at::linear(hm.narrow(0, r, k), headM)).to(at::kDouble),
                -1);
            const at::Tensor kl = (lb.exp() * (lb - lm)).sum(-1).contiguous();
            const double* p = kl.data_ptr<double>();
            kld.insert(kld.end(), p, p + k);
            agree += lb.argmax(-1).eq(lm.argmax(-1)).sum().item<int64_t>();
            const at::Tensor t = tgt.narrow(0, r, k);
            nllBase -= lb.gather(-1, t).sum().item<double>();
            nllModel -= lm.gather(-1, t).sum().item<double>();
        }
        reportProgress(progress, double(b + n) / double(w.count), "KL divergence: window " + std::to_string(b + n) + " / " + std::to_string(w.count));
    }
    FidelityResult res;
    res.positions = int64_t(kld.size());
    if (opt.keep_positions)
        res.kld.assign(kld.begin(), kld.end());
    double sum = 0;
    for (double v : kld)
        sum += v;
    res.kld_mean = sum / double(kld.size());
    std::sort(kld.begin(), kld.end());
    res.kld_median = percentile(kld, 0.5);
    res.kld_p99 = percentile(kld, 0.99);
    res.kld_max = kld.back();
    res.top1_agreement = double(agree) / double(res.positions);
    res.base_ppl = std::exp(nllBase / double(res.positions));
    res.ppl = std::exp(nllModel / double(res.positions));
    return res;
}

} // namespace tailor
