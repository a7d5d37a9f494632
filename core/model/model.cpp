#include "model.h"
#include "arch_table.h"
#include "core/util/error.h"
#include "core/formats/gguf/ggml_quants.h"

#include <ATen/Parallel.h>

namespace tailor {

namespace {
using Slots = std::pair<TensorRole, at::Tensor BlockWeights::*>;
const std::vector<Slots>& kBlockSlotsRef();
} // namespace

std::vector<at::Tensor*> BlockWeights::all()
{
    std::vector<at::Tensor*> v;
    for (const auto& [role, member] : kBlockSlotsRef())
        if ((this->*member).defined())
            v.push_back(&(this->*member));
    for (Expert& e : experts)
        for (at::Tensor* t : {&e.gate, &e.up, &e.down})
            v.push_back(t);
    return v;
}

namespace {
// Where each block role is held in BlockWeights.
const std::pair<TensorRole, at::Tensor BlockWeights::*> kBlockSlots[] = {
    {TensorRole::AttnNorm, &BlockWeights::attn_norm}, {TensorRole::AttnQ, &BlockWeights::wq},
    {TensorRole::AttnK, &BlockWeights::wk},           {TensorRole::AttnV, &BlockWeights::wv},
    {TensorRole::AttnO, &BlockWeights::wo},           {TensorRole::AttnQBias, &BlockWeights::bq},
    {TensorRole::AttnKBias, &BlockWeights::bk},       {TensorRole::AttnVBias, &BlockWeights::bv},
    {TensorRole::AttnQNorm, &BlockWeights::q_norm},   {TensorRole::AttnKNorm, &BlockWeights::k_norm},
    {TensorRole::FfnNorm, &BlockWeights::ffn_norm},   {TensorRole::FfnGate, &BlockWeights::w_gate},
    {TensorRole::FfnUp, &BlockWeights::w_up},         {TensorRole::FfnDown, &BlockWeights::w_down},
    {TensorRole::FfnGateInp, &BlockWeights::router},
};
const std::vector<Slots>& kBlockSlotsRef()
{
    static const std::vector<Slots> v(std::begin(kBlockSlots), std::end(kBlockSlots));
    return v;
}
} // namespace

at::Tensor* BlockWeights::slot(TensorRole role)
{
    for (const auto& [r, member] : kBlockSlots)
        if (r == role)
            return &(this->*member);
    throw Error(std::string("tensor role '") + roleInfo(role).kind + "' is not a block weight");
}

std::vector<std::pair<std::string, at::Tensor*>> BlockWeights::named(const ModelConfig& c, int b)
{
    std::vector<std::pair<std::string, at::Tensor*>> v;
    for (const auto& [role, member] : kBlockSlots)
        if ((this->*member).defined())
            v.emplace_back(hfTensorName(c, role, b), &(this->*member));
    for (std::size_t x = 0; x < experts.size(); ++x) {
        Expert& e = experts[x];
        v.emplace_back(hfTensorName(c, TensorRole::FfnGateExps, b, int(x)), &e.gate);
        v.emplace_back(hfTensorName(c, TensorRole::FfnUpExps, b, int(x)), &e.up);
        v.emplace_back(hfTensorName(c, TensorRole::FfnDownExps, b, int(x)), &e.down);
    }
    return v;
}

at::ScalarType scalarTypeOf(DType t)
{
    switch (t) {
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::I32: return at::kInt;
    case DType::I64: return at::kLong;
    }
    return at::kFloat;
}

at::ScalarType storedScalarType(const CheckpointTensor& t)
{
    return t.ggml ? at::kFloat : scalarTypeOf(t.info->dtype);
}

at::Tensor tensorFromCheckpoint(const CheckpointTensor& t)
{
    if (t.ggml) {
        // a GGUF block type: its values, widened now (the blocks stay mapped)
        at::Tensor out = at::empty(t.info->shape, at::kFloat);
        const int64_t cols = t.info->shape.back(), rows = out.numel() / cols, rowBytes = gguf::rowBytes(*t.ggml, cols);
        const auto* src = static_cast<const uint8_t*>(t.info->data);
        float* dst = out.data_ptr<float>();
        at::parallel_for(0, rows, std::max<int64_t>(1, 65536 / cols), [&](int64_t b, int64_t e) {
            gguf::dequantizeRows(*t.ggml, src + b * rowBytes, dst + b * cols, (e - b) * cols);
        });
        return out;
    }
    const at::ScalarType st = scalarTypeOf(t.info->dtype);
    std::shared_ptr<const void> keep = t.file ? std::shared_ptr<const void>(t.file) : t.keep; // held until the last view is gone
    return at::from_blob(const_cast<void*>(t.info->data), t.info->shape,
                         [keep](void*) mutable { keep.reset(); },
                         at::TensorOptions().dtype(st));
}

std::shared_ptr<Model> Model::load(const std::string& path)
{
    auto m = std::make_shared<Model>();
    m->ckpt_ = Checkpoint::openAny(path);
    // A factored export (Tailor's own, see hf_export.h) stores W as
    // <base>.lora_B.weight · <base>.lora_A.weight: the product is the weight.
    for (const auto& [name, pair] : m->ckpt_->factoredWeights()) {
        const at::Tensor b = tensorFromCheckpoint(*pair.first).to(at::kFloat), a = tensorFromCheckpoint(*pair.second).to(at::kFloat);
        m->replace(name, b.mm(a));
        m->setFactors(name, b, a);
    }
    // GGUF blocks are what the decoder multiplies: hand them over as they are
    // (no fp32 source is kept; the shape is a zero-stride view).
    for (const auto& [name, t] : m->ckpt_->tensors())
        if (t.ggml) {
            GgmlPacking p;
            p.type = *t.ggml;
            p.source = at::zeros({1}, at::kFloat).expand(t.info->shape);
            p.encoded->bytes = std::shared_ptr<const void>(t.keep, t.info->data);
            m->packing_[name] = std::move(p);
        }
    return m;
}

std::shared_ptr<Model> Model::derive() const
{
    auto m = std::make_shared<Model>();
    m->ckpt_ = ckpt_;
    std::lock_guard<std::mutex> lock(mutex_);
    m->replaced_ = replaced_;
    m->factors_ = factors_;
    m->lazy_ = lazy_;
    m->packing_ = packing_;
    m->config_ = config_;
    return m;
}

void Model::replaceLazily(const std::string& name, TensorTransform f)
{
    const at::Tensor before = raw(name);
    std::lock_guard<std::mutex> lock(mutex_);
    replaced_.erase(name);
    factors_.erase(name);
    lazy_[name] = {before, std::move(f)};
    packing_.erase(name);
    blockCache_.clear();
    headCache_ = at::Tensor();
}

void Model::setFactors(const std::string& name, const at::Tensor& b, const at::Tensor& a)
{
    std::lock_guard<std::mutex> lock(mutex_);
    factors_[name] = {b, a};
}

void Model::setConfig(const ModelConfig& c)
{
    std::lock_guard<std::mutex> lock(mutex_);
    config_ = std::make_shared<const ModelConfig>(c);
    blockCache_.clear();
    headCache_ = at::Tensor();
}

void Model::setGgmlPacking(const std::string& name, GgmlPacking p)
{
    std::lock_guard<std::mutex> lock(mutex_);
    packing_[name] = std::move(p);
}

const Model::GgmlPacking* Model::ggmlPacking(const std::string& name) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = packing_.find(name);
    return it == packing_.end() ? nullptr : &it->second;
}

std::pair<at::Tensor, at::Tensor> Model::factors(const std::string& name) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = factors_.find(name);
    return it == factors_.end() ? std::pair<at::Tensor, at::Tensor>{} : it->second;
}

std::shared_ptr<Model> Model::inSourceDtypes() const
{
    auto m = derive();
    std::map<std::string, at::Tensor> replaced;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        replaced = replaced_;
    }
    for (const auto& [name, t] : replaced) {
        if (packing_.count(name) || !ckpt_->find(name))
            continue;
        const at::ScalarType source = storedScalarType(ckpt_->get(name));
        if (t.scalar_type() == source)
            continue;
        const auto f = m->factors_.find(name);
        const std::pair<at::Tensor, at::Tensor> factors = f == m->factors_.end() ? std::pair<at::Tensor, at::Tensor>{} : f->second;
        m->replace(name, t.to(source));
        if (factors.first.defined()) // a factored export stores B and A in the source dtype too
            m->setFactors(name, factors.first.to(source), factors.second.to(source));
    }
    // fake-quantized weights are computed at each use: cast what they compute
    for (auto& [name, lazy] : m->lazy_) {
        if (m->packing_.count(name) || !ckpt_->find(name))
            continue;
        const at::ScalarType source = storedScalarType(ckpt_->get(name));
        lazy.second = [f = lazy.second, source](const at::Tensor& current) { return f(current).to(source); };
    }
    return m;
}

at::Tensor Model::raw(const std::string& name) const
{
    auto it = replaced_.find(name);
    if (it != replaced_.end())
        return it->second;
    const auto lz = lazy_.find(name);
    if (lz != lazy_.end())
        return lz->second.second(lz->second.first);
    return tensorFromCheckpoint(ckpt_->get(name));
}

void Model::replace(const std::string& name, const at::Tensor& t)
{
    std::lock_guard<std::mutex> lock(mutex_);
    replaced_[name] = t;
    factors_.erase(name);
    lazy_.erase(name);
    packing_.erase(name);
    blockCache_.clear();
    headCache_ = at::Tensor();
}

at::Tensor Model::fp32(const std::string& name) const
{
    at::Tensor t = raw(name);
    // contiguous fp32 copy; for F32 checkpoints, clone so that callers may write
    return t.scalar_type() == at::kFloat ? t.clone() : t.to(at::kFloat);
}

bool Model::cacheAll() const
{
    return config().totalParameters() * 4 <= kFp32CacheBytes;
}

BlockWeights Model::block(int i) const
{
    if (i < 0 || i >= nBlocks())
        throw Error("block " + std::to_string(i) + " is out of range (the model has " +
                    std::to_string(nBlocks()) + " blocks)");
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = blockCache_.find(i);
    if (it != blockCache_.end())
        return it->second;
    BlockWeights w;
    const ModelConfig& c = config();
    for (TensorRole role : blockRoles(c))
        *w.slot(role) = fp32(hfTensorName(c, role, i));
    for (int64_t x = 0; x < c.n_expert; ++x)
        w.experts.push_back({fp32(hfTensorName(c, TensorRole::FfnGateExps, i, int(x))),
                             fp32(hfTensorName(c, TensorRole::FfnUpExps, i, int(x))),
                             fp32(hfTensorName(c, TensorRole::FfnDownExps, i, int(x)))});
    if (cacheAll())
        blockCache_[i] = w;
    return w;
}

at::Tensor Model::finalNorm() const
{
    return fp32(hfTensorName(TensorRole::OutputNorm));
}

at::Tensor Model::lmHead() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (headCache_.defined())
        return headCache_;
    const auto role = config().tie_word_embeddings ? TensorRole::TokenEmbd : TensorRole::Output;
    // Widening the head per batch costs little next to the batch's matmuls;
    // keeping a large fp32 copy would cost memory (0.5 GB for a 7B model).
    at::Tensor head = fp32(hfTensorName(role));
    if (head.numel() * 4 <= kFp32CacheBytes)
        headCache_ = head;
    return head;
}

at::Tensor Model::embed(const at::Tensor& ids) const
{
    const std::string name = hfTensorName(TensorRole::TokenEmbd);
    const CheckpointTensor* stored = ckpt_->find(name);
    if (stored && stored->ggml && !replaced_.count(name) && !lazy_.count(name)) {
        // GGUF blocks: widen only the rows asked for, not the whole table
        const int64_t vocab = stored->info->shape[0], cols = stored->info->shape[1];
        const at::Tensor flat = ids.reshape({-1}).to(at::kLong).contiguous();
        at::Tensor out = at::empty({flat.numel(), cols}, at::kFloat);
        const int64_t* id = flat.data_ptr<int64_t>();
        const int64_t rowBytes = gguf::rowBytes(*stored->ggml, cols);
        for (int64_t i = 0; i < flat.numel(); ++i) {
            if (id[i] < 0 || id[i] >= vocab)
                throw Error("token id " + std::to_string(id[i]) + " is outside the vocabulary (" + std::to_string(vocab) + " tokens)");
            gguf::dequantizeRows(*stored->ggml, static_cast<const uint8_t*>(stored->info->data) + id[i] * rowBytes,
                                 out.data_ptr<float>() + i * cols, cols);
        }
        std::vector<int64_t> shape = ids.sizes().vec();
        shape.push_back(cols);
        return out.reshape(shape);
    }
    const at::Tensor table = raw(name);
    const int64_t vocab = table.size(0);
    if (ids.numel() > 0) {
        const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
        if (lo < 0 || hi >= vocab)
            throw Error("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary (" +
                        std::to_string(vocab) + " tokens)");
    }
    return at::embedding(table, ids).to(at::kFloat);
}

} // namespace tailor
