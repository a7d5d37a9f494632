#include "packed_forward.h"
#include "huge_pages.h"
#include "packed_gemm.h"
#include "panel_matrix.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/model/model.h"
#include "core/util/error.h"

#include <QByteArray>

#include <algorithm>

namespace tailor::decode {

PackedMatrix encodedWeight(const Model::GgmlPacking& p)
{
    const at::Tensor src = p.source.dim() == 1 ? p.source.unsqueeze(0) : p.source;
    PackedMatrix m;
    m.type = p.type;
    m.rows = src.size(0);
    m.cols = src.size(1);
    std::lock_guard<std::mutex> lock(p.encoded->mutex);
    if (!p.encoded->bytes) {
        const QByteArray bytes = gguf::encodeRows(src, p.type, p.imatrix);
        p.encoded->bytes = hugePageCopy(bytes.constData(), std::size_t(bytes.size()));
    }
    m.keep = p.encoded->bytes;
    m.data = static_cast<const uint8_t*>(m.keep.get());
    return m;
}

at::Tensor PanelProducts::multiply(const PanelMatrix& p, const at::Tensor& x)
{
    const at::Tensor xc = x.contiguous();
    const int64_t K = xc.size(-1), n = xc.numel() / K;
    if (!roundedFrom_.defined() || !roundedFrom_.is_same(xc)) {
        rounded_.set(xc.data_ptr<float>(), n, K, K);
        roundedFrom_ = xc;
    }
    std::vector<int64_t> shape = xc.sizes().vec();
    shape.back() = p.rows;
    at::Tensor y = at::empty(shape, at::kFloat);
    gemm(p, rounded_, y.data_ptr<float>(), p.rows);
    return y;
}

namespace {

bool hasPanel(const Model& model, const std::string& name)
{
    const Model::GgmlPacking* p = model.ggmlPacking(name);
    return p && hasPanelForm(p->type) && !model.factors(name).second.defined();
}

// The panel form of a model's tensor, or an empty one when it has none.
PanelMatrix panelOf(const Model& model, const std::string& name)
{
    return hasPanel(model, name) ? makePanels(encodedWeight(*model.ggmlPacking(name))) : PanelMatrix{};
}

at::Tensor fp32(const Model& m, const std::string& name)
{
    return m.raw(name).to(at::kFloat);
}

} // namespace

struct PackedForward::Impl {
    const Model& model;
    std::map<int, std::map<TensorRole, PanelMatrix>> blocks; // built at first use
    PanelMatrix headPanel;
    PanelProducts products;

    explicit Impl(const Model& m) : model(m) {}
    at::Tensor multiply(const PanelMatrix& p, const at::Tensor& x) { return products.multiply(p, x); }
};

PackedForward::PackedForward(const Model& model) : d_(std::make_unique<Impl>(model))
{
    for (int b = 0; b < model.nBlocks(); ++b)
        for (TensorRole r : linearRoles())
            packedLinears_ += hasPanel(model, hfTensorName(r, b));
    const std::string headName = hfTensorName(model.config().tie_word_embeddings ? TensorRole::TokenEmbd : TensorRole::Output);
    packedHead_ = hasPanel(model, headName);
    Impl* d = d_.get();
    if (packedHead_) {
        d->headPanel = panelOf(model, headName);
        headProduct_ = [d](TensorRole, const at::Tensor& x) { return d->multiply(d->headPanel, x); };
    } else {
        headProduct_ = [d](TensorRole, const at::Tensor& x) { return at::linear(x, d->model.lmHead()); };
    }
}

PackedForward::~PackedForward() = default;

std::unique_ptr<PackedForward> PackedForward::ifPacked(const Model& model, bool asked)
{
    if (!asked)
        return nullptr;
    auto p = std::make_unique<PackedForward>(model);
    return p->packed() ? std::move(p) : nullptr;
}

at::Tensor PackedForward::runBlocks(at::Tensor h, const RopeTable& rope, const std::vector<bool>& skip)
{
    for (int b = 0; b < d_->model.nBlocks(); ++b)
        if (b >= int(skip.size()) || !skip[std::size_t(b)])
            h = block(b, h, rope);
    return h;
}

at::Tensor PackedForward::block(int b, const at::Tensor& h, const RopeTable& rope, KvCache* cache)
{
    Impl& d = *d_;
    const Model& m = d.model;
    auto [it, fresh] = d.blocks.try_emplace(b);
    std::map<TensorRole, PanelMatrix>& panels = it->second;
    if (fresh)
        for (TensorRole r : linearRoles())
            if (PanelMatrix p = panelOf(m, hfTensorName(r, b)); !p.empty())
                panels[r] = std::move(p);
    if (panels.empty())
        return blockForward(m.block(b), m.config(), h, rope, nullptr, cache);
    // Every linear packed: the block's norms and biases are all it reads in
    // fp32 (Model::block would widen the seven matrices too).
    BlockWeights w;
    if (panels.size() == linearRoles().size()) {
        const auto name = [b](TensorRole r) { return hfTensorName(r, b); };
        w.attn_norm = fp32(m, name(TensorRole::AttnNorm));
        w.ffn_norm = fp32(m, name(TensorRole::FfnNorm));
        if (m.config().attention_bias) {
            w.bq = fp32(m, name(TensorRole::AttnQBias));
            w.bk = fp32(m, name(TensorRole::AttnKBias));
            w.bv = fp32(m, name(TensorRole::AttnVBias));
        }
        if (m.config().qk_norm) {
            w.q_norm = fp32(m, name(TensorRole::AttnQNorm));
            w.k_norm = fp32(m, name(TensorRole::AttnKNorm));
        }
    } else
        w = m.block(b);
    const LinearProduct product = [&](TensorRole role, const at::Tensor& x) {
        const auto p = panels.find(role);
        return p != panels.end() ? d.multiply(p->second, x) : at::linear(x, *w.slot(role));
    };
    return blockForward(w, m.config(), h, rope, nullptr, cache, nullptr, &product);
}

} // namespace tailor::decode
