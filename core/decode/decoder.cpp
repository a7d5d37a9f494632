#include "decoder.h"

#include <numeric>
#include "huge_pages.h"
#include "packed_forward.h"
#include "packed_gemm.h"
#include "packed_matrix.h"
#include "core/util/error.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <QByteArray>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tailor::decode {

namespace {

using gguf::TensorType;

// A weight as the decoder multiplies it: one matrix, or B·A.
struct Linear {
    PackedMatrix w;
    PackedMatrix b, a; // factored when a.rows > 0
    PanelMatrix panel; // w repacked for the prompt's int8 GEMM (empty: widened to fp32)
    bool factored() const { return a.rows > 0; }
    int64_t outputs() const { return factored() ? b.rows : w.rows; }
    int64_t bytes() const { return factored() ? a.bytes() + b.bytes() : w.bytes(); }
};

PackedMatrix viewOf(const at::Tensor& t, bool copy = false)
{
    PackedMatrix m;
    at::Tensor c = t.dim() == 1 ? t.unsqueeze(0) : t;
    switch (c.scalar_type()) {
    case at::kHalf: m.type = TensorType::F16; break;
    case at::kBFloat16: m.type = TensorType::BF16; break;
    case at::kFloat: m.type = TensorType::F32; break;
    default: c = c.to(at::kFloat); m.type = TensorType::F32;
    }
    c = c.contiguous();
    m.rows = c.size(0);
    m.cols = c.size(1);
    if (copy) {
        m.keep = hugePageCopy(c.data_ptr(), std::size_t(c.nbytes()));
        m.data = static_cast<const uint8_t*>(m.keep.get());
    } else {
        m.data = static_cast<const uint8_t*>(c.data_ptr());
        m.keep = std::make_shared<at::Tensor>(c); // pins the mapping (or the replacement)
    }
    return m;
}

PackedMatrix encoded(const Model::GgmlPacking& p)
{
    const at::Tensor src = p.source.dim() == 1 ? p.source.unsqueeze(0) : p.source;
    if (p.type == TensorType::F16 || p.type == TensorType::BF16 || p.type == TensorType::F32) {
        // llama.cpp converts with round-to-nearest-even, as torch does
        return viewOf(src.to(p.type == TensorType::F16 ? at::kHalf : p.type == TensorType::BF16 ? at::kBFloat16 : at::kFloat));
    }
    return encodedWeight(p);
}

Linear linearOf(const Model& model, const std::string& name, bool copy)
{
    Linear l;
    const auto [fb, fa] = model.factors(name);
    if (fa.defined()) { // low rank: two thin products instead of the full matrix
        l.b = viewOf(fb.to(at::kFloat));
        l.a = viewOf(fa.to(at::kFloat));
    } else if (const Model::GgmlPacking* p = model.ggmlPacking(name))
        l.w = encoded(*p);
    else
        l.w = viewOf(model.raw(name), copy);
    return l;
}

std::vector<float> vec(const at::Tensor& t)
{
    if (!t.defined())
        return {};
    const at::Tensor c = t.to(at::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// The fp32 values of a packed matrix into `out` (reused from layer to layer:
// fresh multi-megabyte buffers each time would be page-faulted in again).
void widenInto(const Linear& l, at::Tensor& out)
{
    const int64_t rows = l.outputs(), cols = l.factored() ? l.a.cols : l.w.cols;
    if (!out.defined() || out.size(0) != rows || out.size(1) != cols)
        out = at::empty({rows, cols}, at::kFloat);
    if (l.factored()) {
        const auto f32 = [](const PackedMatrix& m) { return at::from_blob(const_cast<uint8_t*>(m.data), {m.rows, m.cols}, at::kFloat); };
        at::mm_out(out, f32(l.b), f32(l.a));
        return;
    }
    const PackedMatrix& m = l.w;
    if (m.type == TensorType::F16 || m.type == TensorType::BF16 || m.type == TensorType::F32) {
        out.copy_(at::from_blob(const_cast<uint8_t*>(m.data), {m.rows, m.cols},
                                m.type == TensorType::F16 ? at::kHalf : m.type == TensorType::BF16 ? at::kBFloat16 : at::kFloat));
        return;
    }
    float* dst = out.data_ptr<float>();
    at::parallel_for(0, m.rows, std::max<int64_t>(1, 16384 / m.cols), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
            decodeRow(m, r, dst + r * m.cols);
    });
}

void rmsNormInto(const float* x, const std::vector<float>& w, double eps, int64_t n, float* out)
{
    double ss = 0;
    for (int64_t i = 0; i < n; ++i)
        ss += double(x[i]) * double(x[i]);
    const float r = float(1.0 / std::sqrt(ss / double(n) + eps));
    for (int64_t i = 0; i < n; ++i)
        out[i] = w[std::size_t(i)] * (x[i] * r);
}

struct Layer {
    int index = 0; // block number in the source model
    int64_t nkv = 0, ff = 0; // KV heads and MLP channels (blocks differ after non-uniform width pruning)
    Linear q, k, v, o, gate, up, down;
    Linear& of(TensorRole r)
    {
        switch (r) {
        case TensorRole::AttnQ: return q;
        case TensorRole::AttnK: return k;
        case TensorRole::AttnV: return v;
        case TensorRole::AttnO: return o;
        case TensorRole::FfnGate: return gate;
        case TensorRole::FfnUp: return up;
        case TensorRole::FfnDown: return down;
        default: throw Error("the decoder has no linear layer for role " + std::to_string(int(r)));
        }
    }
    std::vector<float> attn_norm, ffn_norm, q_norm, k_norm, bq, bk, bv;
    std::vector<float> kcache, vcache; // [n_head_kv][max positions][head_dim]
    // a mixture's block (#30): the router and each expert's gate, up, down;
    // a token reads the router and only the experts it is routed to
    Linear router;
    struct Expert {
        Linear gate, up, down;
    };
    std::vector<Expert> experts;
};

} // namespace

struct Decoder::Impl {
    ModelConfig c;
    std::vector<Layer> layers;
    PackedMatrix embd, head;
    std::vector<float> finalNorm;
    bool exact = false;
    int64_t maxPos = 0, pos = 0;
    RopeTable rope;
    std::vector<float> cosT, sinT; // [max positions][head_dim]
    std::vector<float> logits;
    // scratch
    std::vector<float> h, x, q, k, v, att, tmp, gate, up, out;
    std::vector<std::vector<float>> lowRankMid;
    at::Tensor wide[7]; // fp32 q k v o gate up down of the layer the prompt pass is in

    // The products of several linears reading the same input: first every full
    // matrix and every A factor, then the B factors on their A outputs.
    void apply(const std::vector<std::pair<const Linear*, float*>>& ls, const float* input, int64_t n)
    {
        Activation ax;
        ax.set(input, n, exact);
        std::vector<MatVecJob> first, second;
        std::vector<Activation> mids(ls.size());
        lowRankMid.resize(ls.size());
        for (std::size_t i = 0; i < ls.size(); ++i) {
            const Linear& l = *ls[i].first;
            if (l.factored()) {
                lowRankMid[i].resize(std::size_t(l.a.rows));
                first.push_back({&l.a, &ax, lowRankMid[i].data()});
            } else
                first.push_back({&l.w, &ax, ls[i].second});
        }
        matVec(first);
        for (std::size_t i = 0; i < ls.size(); ++i) {
            const Linear& l = *ls[i].first;
            if (l.factored()) {
                mids[i].set(lowRankMid[i].data(), l.a.rows, true);
                second.push_back({&l.b, &mids[i], ls[i].second});
            }
        }
        if (!second.empty())
            matVec(second);
    }

    void rope1(float* x, int64_t p) const
    {
        const int64_t hd = c.head_dim, half = hd / 2;
        const float* cs = cosT.data() + p * hd;
        const float* sn = sinT.data() + p * hd;
        float tmpv[1024];
        std::memcpy(tmpv, x, std::size_t(hd) * 4);
        for (int64_t i = 0; i < hd; ++i) {
            const float rot = i < half ? -tmpv[i + half] : tmpv[i - half];
            x[i] = tmpv[i] * cs[i] + rot * sn[i];
        }
    }

    void block(Layer& L)
    {
        const int64_t H = c.hidden_size, hd = c.head_dim, g = c.n_head / c.n_head_kv, nkv = L.nkv, nh = nkv * g;
        rmsNormInto(h.data(), L.attn_norm, c.rms_norm_eps, H, x.data());
        apply({{&L.q, q.data()}, {&L.k, k.data()}, {&L.v, v.data()}}, x.data(), H);
        for (std::size_t i = 0; i < L.bq.size(); ++i)
            q[i] += L.bq[i];
        for (std::size_t i = 0; i < L.bk.size(); ++i)
            k[i] += L.bk[i];
        for (std::size_t i = 0; i < L.bv.size(); ++i)
            v[i] += L.bv[i];
        const float scale = float(1.0 / std::sqrt(double(hd)));
        for (int64_t hh = 0; hh < nh; ++hh) {
            float* qh = q.data() + hh * hd;
            if (!L.q_norm.empty())
                rmsNormInto(qh, L.q_norm, c.rms_norm_eps, hd, qh);
            rope1(qh, pos);
            for (int64_t i = 0; i < hd; ++i)
                qh[i] *= scale;
        }
        for (int64_t kh = 0; kh < nkv; ++kh) {
            float* kk = k.data() + kh * hd;
            if (!L.k_norm.empty())
                rmsNormInto(kk, L.k_norm, c.rms_norm_eps, hd, kk);
            rope1(kk, pos);
            std::memcpy(L.kcache.data() + (kh * maxPos + pos) * hd, kk, std::size_t(hd) * 4);
            std::memcpy(L.vcache.data() + (kh * maxPos + pos) * hd, v.data() + kh * hd, std::size_t(hd) * 4);
        }
        const int64_t T = pos + 1;
        at::parallel_for(0, nh, 1, [&](int64_t b, int64_t e) {
            std::vector<float> s(std::size_t(T), 0.f);
            for (int64_t hh = b; hh < e; ++hh) {
                const int64_t kh = hh / g;
                const float* qh = q.data() + hh * hd;
                const float* K = L.kcache.data() + kh * maxPos * hd;
                const float* V = L.vcache.data() + kh * maxPos * hd;
                float mx = -INFINITY;
                for (int64_t p = 0; p < T; ++p) {
                    s[std::size_t(p)] = dot(qh, K + p * hd, hd);
                    mx = std::max(mx, s[std::size_t(p)]);
                }
                float sum = 0;
                for (int64_t p = 0; p < T; ++p)
                    sum += (s[std::size_t(p)] = std::exp(s[std::size_t(p)] - mx));
                float* o = att.data() + hh * hd;
                std::fill(o, o + hd, 0.f);
                for (int64_t p = 0; p < T; ++p) {
                    const float w = s[std::size_t(p)] / sum;
                    const float* vp = V + p * hd;
                    for (int64_t i = 0; i < hd; ++i)
                        o[i] += w * vp[i];
                }
            }
        });
        apply({{&L.o, tmp.data()}}, att.data(), nh * hd);
        for (int64_t i = 0; i < H; ++i)
            h[std::size_t(i)] += tmp[std::size_t(i)];
        rmsNormInto(h.data(), L.ffn_norm, c.rms_norm_eps, H, x.data());
        if (!L.experts.empty()) {
            moe(L);
            return;
        }
        swiglu(L.gate, L.up, L.down, L.ff);
        for (int64_t i = 0; i < H; ++i)
            h[std::size_t(i)] += tmp[std::size_t(i)];
    }

    // SwiGLU of the normalised input x into tmp: the dense MLP and each expert.
    void swiglu(const Linear& g, const Linear& u, const Linear& d, int64_t ff)
    {
        apply({{&g, gate.data()}, {&u, up.data()}}, x.data(), c.hidden_size);
        for (std::size_t i = 0; i < std::size_t(ff); ++i)
            gate[i] = gate[i] / (1.f + std::exp(-gate[i])) * up[i];
        apply({{&d, tmp.data()}}, gate.data(), ff);
    }

    // The routed MLP of one token (moe_forward.h's semantics): softmax over
    // the router's scores, the top k, renormalised when the config says so,
    // and only those experts multiplied.
    void moe(Layer& L)
    {
        const int64_t H = c.hidden_size, E = int64_t(L.experts.size());
        std::vector<float> score(static_cast<std::size_t>(E));
        apply({{&L.router, score.data()}}, x.data(), H);
        const float mx = *std::max_element(score.begin(), score.end());
        double z = 0;
        std::vector<double> prob(static_cast<std::size_t>(E));
        for (int64_t e = 0; e < E; ++e)
            z += (prob[std::size_t(e)] = std::exp(double(score[std::size_t(e)] - mx)));
        std::vector<int> order(static_cast<std::size_t>(E));
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + c.n_expert_used, order.end(),
                          [&](int a, int b) { return prob[std::size_t(a)] > prob[std::size_t(b)]; });
        double chosen = 0;
        for (int64_t j = 0; j < c.n_expert_used; ++j)
            chosen += prob[std::size_t(order[std::size_t(j)])];
        std::vector<float> sum(static_cast<std::size_t>(H), 0.f);
        for (int64_t j = 0; j < c.n_expert_used; ++j) {
            Layer::Expert& ex = L.experts[std::size_t(order[std::size_t(j)])];
            const float weight = float(prob[std::size_t(order[std::size_t(j)])] / (c.norm_topk_prob ? chosen : z));
            swiglu(ex.gate, ex.up, ex.down, c.expert_intermediate_size);
            for (int64_t i = 0; i < H; ++i)
                sum[std::size_t(i)] += weight * tmp[std::size_t(i)];
        }
        for (int64_t i = 0; i < H; ++i)
            h[std::size_t(i)] += sum[std::size_t(i)];
    }

    void finish()
    {
        rmsNormInto(h.data(), finalNorm, c.rms_norm_eps, c.hidden_size, x.data());
        logits.resize(std::size_t(head.rows));
        Activation ax;
        ax.set(x.data(), c.hidden_size, exact);
        matVec(head, ax, logits.data());
    }
};

Decoder::Decoder(const Model& model, const DecoderOptions& opt) : d_(std::make_unique<Impl>())
{
    Impl& d = *d_;
    d.c = model.config();
    d.exact = opt.exact_activations;
    const ModelConfig& c = d.c;
    d.maxPos = std::min<int64_t>(opt.max_positions, c.max_position_embeddings);
    if (d.maxPos < 1)
        throw Error("the decoder needs room for at least one position");
    if (c.head_dim > 1024)
        throw Error("head_dim " + std::to_string(c.head_dim) + " is larger than the decoder supports (1024)");
    const std::vector<bool> skip = blockSkipMask(model, opt.drop_blocks);
    // Weights read from the checkpoint's mapping move to private memory when
    // they take less than half of what the machine has available (huge_pages.h).
    const bool copy = opt.copy_weights == DecoderOptions::Copy::Always ||
                      (opt.copy_weights == DecoderOptions::Copy::Auto &&
                       2 * c.totalParameters() < availableMemory() / 2);
    for (int b = 0; b < model.nBlocks(); ++b) {
        if (skip[std::size_t(b)])
            continue;
        Layer L;
        L.index = b;
        L.nkv = c.headsKv(b);
        L.ff = c.intermediate(b);
        const auto name = [b](TensorRole r) { return hfTensorName(r, b); };
        const auto linearOf = [&](const Model& m, const std::string& n) { return decode::linearOf(m, n, copy); };
        L.q = linearOf(model, name(TensorRole::AttnQ));
        L.k = linearOf(model, name(TensorRole::AttnK));
        L.v = linearOf(model, name(TensorRole::AttnV));
        L.o = linearOf(model, name(TensorRole::AttnO));
        if (c.isMoe()) {
            L.router = linearOf(model, hfTensorName(c, TensorRole::FfnGateInp, b));
            for (int x = 0; x < int(c.n_expert); ++x)
                L.experts.push_back({linearOf(model, hfTensorName(c, TensorRole::FfnGateExps, b, x)),
                                     linearOf(model, hfTensorName(c, TensorRole::FfnUpExps, b, x)),
                                     linearOf(model, hfTensorName(c, TensorRole::FfnDownExps, b, x))});
        } else {
            L.gate = linearOf(model, name(TensorRole::FfnGate));
            L.up = linearOf(model, name(TensorRole::FfnUp));
            L.down = linearOf(model, name(TensorRole::FfnDown));
        }
        if (opt.int8_prompt && !opt.exact_activations)
            for (Linear* l : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down})
                if (!l->factored() && hasPanelForm(l->w.type))
                    l->panel = makePanels(l->w);
        L.attn_norm = vec(model.raw(name(TensorRole::AttnNorm)));
        L.ffn_norm = vec(model.raw(name(TensorRole::FfnNorm)));
        if (c.attention_bias) {
            L.bq = vec(model.raw(name(TensorRole::AttnQBias)));
            L.bk = vec(model.raw(name(TensorRole::AttnKBias)));
            L.bv = vec(model.raw(name(TensorRole::AttnVBias)));
        }
        if (c.qk_norm) {
            L.q_norm = vec(model.raw(name(TensorRole::AttnQNorm)));
            L.k_norm = vec(model.raw(name(TensorRole::AttnKNorm)));
        }
        L.kcache.assign(std::size_t(L.nkv * d.maxPos * c.head_dim), 0.f);
        L.vcache.assign(L.kcache.size(), 0.f);
        d.layers.push_back(std::move(L));
    }
    const std::string embdName = hfTensorName(TensorRole::TokenEmbd);
    d.embd = linearOf(model, embdName, false).w; // one row a token: stays where it is
    d.head = c.tie_word_embeddings ? linearOf(model, embdName, copy).w : linearOf(model, hfTensorName(TensorRole::Output), copy).w;
    d.finalNorm = vec(model.raw(hfTensorName(TensorRole::OutputNorm)));
    d.rope = makeRope(c, d.maxPos);
    d.cosT = vec(d.rope.cos);
    d.sinT = vec(d.rope.sin);
    const int64_t H = c.hidden_size, qd = c.n_head * c.head_dim, kvd = c.n_head_kv * c.head_dim;
    d.h.resize(std::size_t(H));
    d.x.resize(std::size_t(H));
    d.tmp.resize(std::size_t(H));
    d.q.resize(std::size_t(qd));
    d.att.resize(std::size_t(qd));
    d.k.resize(std::size_t(kvd));
    d.v.resize(std::size_t(kvd));
    const int64_t ff = std::max(c.intermediate_size, c.expert_intermediate_size);
    d.gate.resize(std::size_t(ff));
    d.up.resize(std::size_t(ff));
}

Decoder::~Decoder() = default;

void Decoder::reset() { d_->pos = 0; }
int64_t Decoder::position() const { return d_->pos; }
int64_t Decoder::maxPositions() const { return d_->maxPos; }
int Decoder::keptBlocks() const { return int(d_->layers.size()); }

int64_t Decoder::weightBytesPerToken() const
{
    int64_t n = d_->head.bytes() + d_->embd.rowBytes();
    for (const Layer& L : d_->layers) {
        for (const Linear* l : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down})
            n += l->bytes();
        // a mixture's token reads the router and its k experts (the mean expert: types may differ)
        if (!L.experts.empty()) {
            int64_t all = 0;
            for (const Layer::Expert& e : L.experts)
                all += e.gate.bytes() + e.up.bytes() + e.down.bytes();
            n += L.router.bytes() + all * d_->c.n_expert_used / int64_t(L.experts.size());
        }
    }
    return n;
}

int64_t Decoder::kvBytesPerToken(int64_t pos) const
{
    int64_t heads = 0;
    for (const Layer& L : d_->layers)
        heads += L.nkv;
    return 2 * heads * d_->c.head_dim * std::max<int64_t>(0, pos) * int64_t(sizeof(float));
}

const std::vector<float>& Decoder::step(int32_t id)
{
    Impl& d = *d_;
    if (id < 0 || id >= d.embd.rows)
        throw Error("token id " + std::to_string(id) + " is outside the vocabulary (" + std::to_string(d.embd.rows) + " tokens)");
    if (d.pos >= d.maxPos)
        throw Error("the decoder's cache is full (" + std::to_string(d.maxPos) + " positions)");
    decodeRow(d.embd, id, d.h.data());
    for (Layer& L : d.layers)
        d.block(L);
    d.finish();
    ++d.pos;
    return d.logits;
}

const std::vector<float>& Decoder::prefill(const std::vector<int32_t>& ids)
{
    Impl& d = *d_;
    const ModelConfig& c = d.c;
    const int64_t T = int64_t(ids.size());
    if (T == 0)
        throw Error("nothing to prefill");
    if (T == 1)
        return step(ids[0]);
    if (d.pos + T > d.maxPos)
        throw Error("the prompt needs " + std::to_string(d.pos + T) + " positions; the decoder's cache has " +
                    std::to_string(d.maxPos));
    at::NoGradGuard ng;
    // The batched fp32 forward on widened weights: for a prompt, one matrix
    // product per layer costs less than T matrix-vector products.
    at::Tensor h = at::empty({1, T, c.hidden_size}, at::kFloat);
    for (int64_t t = 0; t < T; ++t) {
        if (ids[std::size_t(t)] < 0 || ids[std::size_t(t)] >= d.embd.rows)
            throw Error("token id " + std::to_string(ids[std::size_t(t)]) + " is outside the vocabulary (" +
                        std::to_string(d.embd.rows) + " tokens)");
        decodeRow(d.embd, ids[std::size_t(t)], h.data_ptr<float>() + t * c.hidden_size);
    }
    const auto t1 = [](const std::vector<float>& v) {
        return v.empty() ? at::Tensor() : at::from_blob(const_cast<float*>(v.data()), {int64_t(v.size())}, at::kFloat);
    };
    // Each product on int8 panels where the weight has them, else on the fp32
    // widening; q, k, v (and gate, up) read one input, rounded once.
    PanelProducts panels;
    for (Layer& L : d.layers) {
        BlockWeights w;
        w.attn_norm = t1(L.attn_norm);
        w.ffn_norm = t1(L.ffn_norm);
        w.q_norm = t1(L.q_norm);
        w.k_norm = t1(L.k_norm);
        w.bq = t1(L.bq);
        w.bk = t1(L.bk);
        w.bv = t1(L.bv);
        if (!L.experts.empty()) { // the prompt's routed MLP on fp32 widenings
            const auto wide = [](const Linear& l) {
                at::Tensor t;
                widenInto(l, t);
                return t;
            };
            w.router = wide(L.router);
            for (const Layer::Expert& e : L.experts)
                w.experts.push_back({wide(e.gate), wide(e.up), wide(e.down)});
        }
        const LinearProduct product = [&](TensorRole role, const at::Tensor& x) {
            const Linear& l = L.of(role);
            if (l.panel.empty()) {
                at::Tensor& wide = d.wide[int(std::find(linearRoles().begin(), linearRoles().end(), role) - linearRoles().begin())];
                widenInto(l, wide);
                return at::linear(x, wide);
            }
            return panels.multiply(l.panel, x);
        };
        KvCache cache;
        if (d.pos > 0) { // continue after earlier positions: their keys and values
            const auto prior = [&](const std::vector<float>& buf) {
                return at::from_blob(const_cast<float*>(buf.data()), {1, L.nkv, d.maxPos, c.head_dim}, at::kFloat)
                    .narrow(2, 0, d.pos)
                    .clone();
            };
            cache.k = prior(L.kcache);
            cache.v = prior(L.vcache);
        }
        h = blockForward(w, c, h, d.rope, nullptr, &cache, nullptr, &product);
        // [1, n_kv, pos + T, hd] -> the cache rows
        for (auto [src, dst] : {std::pair{&cache.k, &L.kcache}, std::pair{&cache.v, &L.vcache}}) {
            const at::Tensor s = src->contiguous();
            for (int64_t kh = 0; kh < L.nkv; ++kh)
                std::memcpy(dst->data() + kh * d.maxPos * c.head_dim, s.data_ptr<float>() + kh * s.size(2) * c.head_dim,
                            std::size_t(s.size(2) * c.head_dim) * 4);
        }
    }
    const at::Tensor last = h[0][T - 1].contiguous();
    std::memcpy(d.h.data(), last.data_ptr<float>(), std::size_t(c.hidden_size) * 4);
    d.finish();
    d.pos += T;
    return d.logits;
}

} // namespace tailor::decode
