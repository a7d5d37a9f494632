#include "llama_forward.h"
#include "moe_forward.h"

#include <ATen/core/grad_mode.h>
#include <cmath>
#include <limits>
#include <vector>

namespace tailor {

namespace {

// Inverse frequencies, with HF's rope_scaling variants.
at::Tensor inverseFrequencies(const ModelConfig& c)
{
    const int64_t d = c.head_dim;
    at::Tensor inv = 1.0 / at::pow(c.rope_theta, at::arange(0, d, 2, at::kLong).to(at::kFloat) / double(d));
    const auto& rs = c.rope_scaling;
    if (rs.type == "llama3") {
        std::vector<float> divisor(std::size_t(inv.numel()));
        const float* f = inv.data_ptr<float>();
        for (std::size_t i = 0; i < divisor.size(); ++i)
            divisor[i] = float(llama3RopeDivisor(rs, 2 * M_PI / double(f[i])));
        inv = inv / at::from_blob(divisor.data(), {inv.numel()}, at::kFloat).clone();
    } else if (rs.type == "freq_factors")
        inv = inv / at::from_blob(const_cast<float*>(rs.freq_factors.data()), {inv.numel()}, at::kFloat).clone();
    return inv;
}

// Additive causal mask [T, T]: 0 on and below the diagonal, -inf above.
at::Tensor causalMask(int64_t T)
{
    static thread_local at::Tensor cached;
    if (!cached.defined() || cached.size(0) != T)
        cached = at::full({T, T}, -std::numeric_limits<float>::infinity()).triu(1);
    return cached;
}

at::Tensor rotateHalf(const at::Tensor& x)
{
    const int64_t h = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
}

} // namespace

const at::Tensor& LinearInputs::forRole(TensorRole role) const
{
    switch (role) {
    case TensorRole::AttnO: return o_in;
    case TensorRole::FfnGate:
    case TensorRole::FfnUp: return mlp_in;
    case TensorRole::FfnDown: return down_in;
    default: return attn_in;
    }
}

const std::vector<TensorRole>& linearRoles()
{
    // the block matrices of the role table, in its order (q k v o gate up down)
    static const std::vector<TensorRole> roles = [] {
        std::vector<TensorRole> r;
        for (const auto& info : tensorRoles())
            if (info.perBlock && info.isLinear)
                r.push_back(info.role);
        return r;
    }();
    return roles;
}

RopeTable makeRope(const ModelConfig& c, int64_t seqLen)
{
    at::Tensor pos = at::arange(seqLen, at::kLong).to(at::kFloat);
    if (c.rope_scaling.type == "linear")
        pos = pos / c.rope_scaling.factor;
    const at::Tensor freqs = at::outer(pos, inverseFrequencies(c));
    const at::Tensor emb = at::cat({freqs, freqs}, -1);
    return {emb.cos(), emb.sin()};
}

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& w, double eps)
{
    const at::Tensor var = x.pow(2).mean(-1, true);
    return w * (x * at::rsqrt(var + eps));
}

at::Tensor blockForward(const BlockWeights& w, const ModelConfig& c, const at::Tensor& h,
                        const RopeTable& rope, LinearInputs* capture, KvCache* cache, const LinearAdapter* adapter,
                        const LinearProduct* product)
{
    const auto linear = [adapter, product](TensorRole role, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {}) {
        at::Tensor y;
        if (product && *product) {
            y = (*product)(role, x);
            if (bias.defined())
                y = y + bias;
        } else
            y = at::linear(x, weight, bias);
        if (adapter && *adapter)
            if (const at::Tensor extra = (*adapter)(role, x); extra.defined())
                y = y + extra;
        return y;
    };
    const int64_t B = h.size(0), T = h.size(1), hd = c.head_dim;

    const at::Tensor x = rmsNorm(h, w.attn_norm, c.rms_norm_eps);
    const at::Tensor qx = linear(TensorRole::AttnQ, x, w.wq, w.bq), kx = linear(TensorRole::AttnK, x, w.wk, w.bk);
    // heads from the products: after non-uniform width pruning blocks differ
    const int64_t nh = qx.size(-1) / hd, nkv = kx.size(-1) / hd;
    at::Tensor q = qx.view({B, T, nh, hd}).transpose(1, 2);
    at::Tensor k = kx.view({B, T, nkv, hd}).transpose(1, 2);
    at::Tensor v = linear(TensorRole::AttnV, x, w.wv, w.bv).view({B, T, nkv, hd}).transpose(1, 2);
    // Qwen3: each head's q and k are RMS-normalized over head_dim before RoPE
    if (w.q_norm.defined()) {
        q = rmsNorm(q, w.q_norm, c.rms_norm_eps);
        k = rmsNorm(k, w.k_norm, c.rms_norm_eps);
    }
    const int64_t pos0 = cache ? cache->positions() : 0;
    const at::Tensor cos = rope.cos.narrow(0, pos0, T), sin = rope.sin.narrow(0, pos0, T);
    // Scale q before the product: [B, nh, T, hd] is much smaller than the scores.
    q = (q * cos + rotateHalf(q) * sin) * (1.0 / std::sqrt(double(hd)));
    k = k * cos + rotateHalf(k) * sin;
    if (cache) {
        if (pos0 > 0) {
            k = at::cat({cache->k, k}, 2);
            v = at::cat({cache->v, v}, 2);
        }
        cache->k = k;
        cache->v = v;
    }
    const int64_t Tk = k.size(2);
    // GQA without copying K/V per head: the g = nh / nkv query heads that share a
    // KV head are stacked along the rows, so each product is one larger matmul.
    const int64_t g = nh / nkv;
    const at::Tensor qg = q.reshape({B, nkv, g * T, hd});
    at::Tensor scores = at::matmul(qg, k.transpose(-2, -1)); // [B, nkv, g*T, Tk]
    // new position i (absolute pos0 + i) sees keys 0..pos0 + i
    const at::Tensor mask = pos0 == 0 ? causalMask(T) : at::full({T, Tk}, -std::numeric_limits<float>::infinity()).triu(pos0 + 1);
    // In place unless autograd records: an in-place add on a view makes the
    // backward copy the whole score tensor (CopySlices).
    if (at::GradMode::is_enabled())
        scores = (scores.view({B, nkv, g, T, Tk}) + mask).view({B, nkv, g * T, Tk});
    else
        scores.view({B, nkv, g, T, Tk}).add_(mask);
    const at::Tensor probs = at::softmax(scores, -1);
    const at::Tensor attn = at::matmul(probs, v).view({B, nh, T, hd});
    const at::Tensor merged = attn.transpose(1, 2).reshape({B, T, nh * hd});
    const at::Tensor h1 = h + linear(TensorRole::AttnO, merged, w.wo);

    const at::Tensor y = rmsNorm(h1, w.ffn_norm, c.rms_norm_eps);
    if (w.isMoe()) {
        if (capture)
            *capture = LinearInputs{x, merged, y, at::Tensor()};
        return h1 + moeForward(w, c, y);
    }
    const at::Tensor act = at::silu(linear(TensorRole::FfnGate, y, w.w_gate)) * linear(TensorRole::FfnUp, y, w.w_up);
    if (capture)
        *capture = LinearInputs{x, merged, y, act};
    return h1 + linear(TensorRole::FfnDown, act, w.w_down);
}

at::Tensor runBlocks(const Model& m, at::Tensor h, int from, int to, const RopeTable& rope,
                     const std::vector<bool>& skip)
{
    for (int i = from; i < to; ++i) {
        if (i < int(skip.size()) && skip[i])
            continue;
        h = blockForward(m.block(i), m.config(), h, rope);
    }
    return h;
}

at::Tensor headLogits(const Model& m, const at::Tensor& h)
{
    return at::linear(rmsNorm(h, m.finalNorm(), m.config().rms_norm_eps), m.lmHead());
}

double windowsNll(const Model& m, const at::Tensor& h, const at::Tensor& ids, const LinearProduct* headProduct)
{
    const int64_t B = h.size(0), T = h.size(1), H = h.size(2), V = m.config().vocab_size;
    // Logits in chunks of rows of ~8 MB: larger blocks are served by fresh
    // mmaps (glibc caps its mmap threshold at 32 MB), which fault in every
    // page each time; with a 152k vocabulary (Qwen) one window's logits are
    // 77 MB and took ten times the compute in page faults.
    const int64_t rows = std::max<int64_t>(1, (int64_t(8) << 20) / std::max<int64_t>(1, V * 4));
    const at::Tensor hs = h.narrow(1, 0, T - 1).reshape({B * (T - 1), H});
    const at::Tensor tgt = ids.narrow(1, 1, T - 1).reshape({B * (T - 1), 1});
    const at::Tensor x = rmsNorm(hs, m.finalNorm(), m.config().rms_norm_eps);
    const at::Tensor head = headProduct && *headProduct ? at::Tensor() : m.lmHead();
    double total = 0.0;
    for (int64_t r = 0; r < x.size(0); r += rows) {
        const int64_t n = std::min(rows, x.size(0) - r);
        const at::Tensor logits = head.defined() ? at::linear(x.narrow(0, r, n), head) : (*headProduct)(TensorRole::Output, x.narrow(0, r, n));
        // NLL = logsumexp(logits) - logit of the target: no log_softmax tensor is written.
        const at::Tensor nll = at::logsumexp(logits, -1) - logits.gather(-1, tgt.narrow(0, r, n)).squeeze(-1);
        total += nll.to(at::kDouble).sum().item<double>();
    }
    return total;
}

at::Tensor meanNllDifferentiable(const at::Tensor& logits, const at::Tensor& ids)
{
    const int64_t T = logits.size(1);
    const at::Tensor lp = at::log_softmax(logits.narrow(1, 0, T - 1), -1);
    const at::Tensor tgt = ids.narrow(1, 1, T - 1).unsqueeze(-1);
    return -lp.gather(-1, tgt).mean();
}

} // namespace tailor
