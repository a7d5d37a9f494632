#pragma once
// The loaded model: a Checkpoint (memory-mapped, checkpoint dtype) plus fp32
// views of blocks for compute. Weights are widened to fp32 one block at a time;
// when the whole model's fp32 copy is small (under kFp32CacheBytes) the widened
// blocks are cached, otherwise they are rebuilt per use so that a 7B bf16 model
// fits in 24 GiB. Torch-facing: only engine .cpp files include this.
#include "arch_table.h"
#include "checkpoint.h"
#include "core/formats/gguf/gguf_types.h"

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tailor {

struct BlockWeights {
    at::Tensor attn_norm, wq, wk, wv, wo, bq, bk, bv; // biases undefined unless attention_bias
    at::Tensor q_norm, k_norm;                        // undefined unless qk_norm (Qwen3)
    at::Tensor ffn_norm, w_gate, w_up, w_down;        // gate/up/down undefined in a mixture's block
    // mixture of experts (#30): the router [n_expert, H] and each expert's matrices
    at::Tensor router;
    struct Expert {
        at::Tensor gate, up, down;
    };
    std::vector<Expert> experts;
    bool isMoe() const { return router.defined(); }

    at::Tensor* slot(TensorRole role);                 // the member a block role lives in
    const at::Tensor& get(TensorRole role) const { return *const_cast<BlockWeights*>(this)->slot(role); }
    std::vector<at::Tensor*> all();                    // every defined tensor
    // with HF names (experts included: Taylor sums over them)
    std::vector<std::pair<std::string, at::Tensor*>> named(const ModelConfig& c, int block);
};

class Model {
public:
    // An HF folder, or a GGUF file (Checkpoint::openAny).
    static std::shared_ptr<Model> load(const std::string& path);

    const ModelConfig& config() const { return config_ ? *config_ : ckpt_->config(); }
    const Checkpoint& checkpoint() const { return *ckpt_; }
    int nBlocks() const { return int(config().n_layer); }
    // A derived model whose shapes differ from the checkpoint's (width
    // pruning: fewer heads, a narrower MLP); set with the replaced tensors.
    void setConfig(const ModelConfig& c);

    // A tensor in its stored dtype (zero-copy view of the mapping, or a replacement).
    at::Tensor raw(const std::string& name) const;
    // A model sharing this checkpoint and its replacements, to be changed
    // without touching this one (fake-quantized, factorized, pruned variants).
    std::shared_ptr<Model> derive() const;
    // A derived model whose replaced tensors are back in their checkpoint
    // dtype (a LoRA-healed model holds fp32 merges of BF16 weights): what an
    // HF export stores by default, so speed runs measure the bytes the user
    // will ship. Low-rank factors stay factors (in that dtype); block-quantized
    // tensors keep their packing.
    std::shared_ptr<Model> inSourceDtypes() const;
    // Replace a tensor (compression steps); drops cached fp32 copies and any
    // factors of it (they no longer describe the new values).
    void replace(const std::string& name, const at::Tensor& t);
    // Replace a tensor by a function of its current value, computed at each
    // use instead of stored: a fake-quantized 7B model then costs no extra
    // memory (each block is quantized again when it is widened).
    using TensorTransform = std::function<at::Tensor(const at::Tensor& current)>;
    void replaceLazily(const std::string& name, TensorTransform f);
    // A weight known as a product W = B·A (low rank: B [out, k], A [k, in]),
    // so it can be exported factored. Set after replace() with the product.
    void setFactors(const std::string& name, const at::Tensor& b, const at::Tensor& a);
    // {B, A}, or undefined tensors when the weight is not factored.
    std::pair<at::Tensor, at::Tensor> factors(const std::string& name) const;

    // A weight whose values are those of a llama.cpp block type: `source`
    // encoded as `type` (with importance weights, if any) and decoded. Kept so
    // that decoding can multiply the packed blocks instead of fp32 values.
    struct GgmlPacking {
        gguf::TensorType type = gguf::TensorType::F32;
        std::vector<float> imatrix;
        at::Tensor source;
        // The encoded blocks, kept once a decoder has made them (K-quant
        // searches take a minute on a 1B model; every preview and speed run
        // builds a decoder). Shared by derived models, filled under its mutex.
        struct Encoded {
            std::mutex mutex;
            std::shared_ptr<const void> bytes;
        };
        std::shared_ptr<Encoded> encoded = std::make_shared<Encoded>();
    };
    // Set after replace() / replaceLazily() with the quantized values.
    void setGgmlPacking(const std::string& name, GgmlPacking p);
    const GgmlPacking* ggmlPacking(const std::string& name) const; // null when none

    // fp32 weights of block i (cached for small models).
    BlockWeights block(int i) const;
    at::Tensor finalNorm() const;
    at::Tensor lmHead() const; // fp32 [vocab, hidden]; the embedding when tied
    // Embedding rows for ids [B, T] -> fp32 [B, T, hidden]; only the rows used are widened.
    at::Tensor embed(const at::Tensor& ids) const;

    static constexpr int64_t kFp32CacheBytes = int64_t(256) << 20;

private:
    at::Tensor fp32(const std::string& name) const;
    bool cacheAll() const;

    std::shared_ptr<Checkpoint> ckpt_;
    std::shared_ptr<const ModelConfig> config_; // null: the checkpoint's
    std::map<std::string, at::Tensor> replaced_;
    std::map<std::string, std::pair<at::Tensor, at::Tensor>> factors_;
    std::map<std::string, std::pair<at::Tensor, TensorTransform>> lazy_; // the value before, and f
    std::map<std::string, GgmlPacking> packing_;
    mutable std::mutex mutex_;
    mutable std::map<int, BlockWeights> blockCache_;
    mutable at::Tensor headCache_;
};

// The torch element type of a checkpoint dtype.
at::ScalarType scalarTypeOf(DType t);

// Zero-copy torch view of a mapped tensor; the tensor keeps the mapping alive.
// A GGUF block type is dequantized to a new fp32 tensor.
at::Tensor tensorFromCheckpoint(const CheckpointTensor& t);
// Its element type without widening it (fp32 for GGUF block types).
at::ScalarType storedScalarType(const CheckpointTensor& t);

} // namespace tailor
