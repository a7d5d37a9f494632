#include "llama_forward.h"

#include <cmath>

namespace tailor {

namespace {

// Inverse frequencies, with HF's rope_scaling variants.
at::Tensor inverseFrequencies(const ModelConfig& c)
{
    const int64_t d = c.head_dim;
    at::Tensor inv = 1.0 / at::pow(c.rope_theta, at::arange(0, d, 2, at::kLong).to(at::kFloat) / double(d));
    const auto& rs = c.rope_scaling;
    if (rs.type == "llama3") {
        // transformers' _compute_llama3_parameters
        const double lowWl = rs.original_max_position_embeddings / rs.low_freq_factor;
        const double highWl = rs.original_max_position_embeddings / rs.high_freq_factor;
        const at::Tensor wl = 2 * M_PI / inv;
        at::Tensor scaled = at::where(wl > lowWl, inv / rs.factor, inv);
        const at::Tensor smooth = (double(rs.original_max_position_embeddings) / wl - rs.low_freq_factor) /
                                  (rs.high_freq_factor - rs.low_freq_factor);
        const at::Tensor smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
        const at::Tensor medium = (wl >= highWl).logical_and(wl <= lowWl);
        inv = at::where(medium, smoothed, scaled);
    }
    return inv;
}

at::Tensor rotateHalf(const at::Tensor& x)
{
    const int64_t h = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
}

} // namespace

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
                        const RopeTable& rope)
{
    const int64_t B = h.size(0), T = h.size(1), hd = c.head_dim;
    const int64_t nh = c.n_head, nkv = c.n_head_kv;

    const at::Tensor x = rmsNorm(h, w.attn_norm, c.rms_norm_eps);
    at::Tensor q = at::linear(x, w.wq, w.bq).view({B, T, nh, hd}).transpose(1, 2);
    at::Tensor k = at::linear(x, w.wk, w.bk).view({B, T, nkv, hd}).transpose(1, 2);
    at::Tensor v = at::linear(x, w.wv, w.bv).view({B, T, nkv, hd}).transpose(1, 2);
    const at::Tensor cos = rope.cos.narrow(0, 0, T), sin = rope.sin.narrow(0, 0, T);
    q = q * cos + rotateHalf(q) * sin;
    k = k * cos + rotateHalf(k) * sin;
    if (nkv != nh) {
        k = k.repeat_interleave(nh / nkv, 1);
        v = v.repeat_interleave(nh / nkv, 1);
    }
    at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(hd)));
    const at::Tensor mask = at::ones({T, T}, at::kBool).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
    const at::Tensor attn = at::matmul(at::softmax(scores, -1), v); // [B, nh, T, hd]
    const at::Tensor merged = attn.transpose(1, 2).reshape({B, T, nh * hd});
    const at::Tensor h1 = h + at::linear(merged, w.wo);

    const at::Tensor y = rmsNorm(h1, w.ffn_norm, c.rms_norm_eps);
    const at::Tensor mlp = at::linear(at::silu(at::linear(y, w.w_gate)) * at::linear(y, w.w_up), w.w_down);
    return h1 + mlp;
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

double windowsNll(const Model& m, const at::Tensor& h, const at::Tensor& ids)
{
    const int64_t B = h.size(0), T = h.size(1);
    // Keep each logits chunk near 64 MB.
    const int64_t perWindow = T * m.config().vocab_size * 4;
    const int64_t chunk = std::max<int64_t>(1, (int64_t(64) << 20) / std::max<int64_t>(1, perWindow));
    double total = 0.0;
    const at::Tensor norm = m.finalNorm();
    const at::Tensor head = m.lmHead();
    for (int64_t b = 0; b < B; b += chunk) {
        const int64_t n = std::min(chunk, B - b);
        const at::Tensor hs = h.narrow(0, b, n).narrow(1, 0, T - 1);
        const at::Tensor logits = at::linear(rmsNorm(hs, norm, m.config().rms_norm_eps), head);
        const at::Tensor logp = at::log_softmax(logits, -1);
        const at::Tensor tgt = ids.narrow(0, b, n).narrow(1, 1, T - 1).unsqueeze(-1);
        total -= logp.gather(-1, tgt).to(at::kDouble).sum().item<double>();
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
