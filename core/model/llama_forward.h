#pragma once
// The Llama-family forward pass in fp32 (HF LlamaForCausalLM semantics):
// embedding, RMSNorm, RoPE in HF's rotate-half layout, causal GQA attention,
// SwiGLU MLP, final norm, lm_head. Split into pieces so analyses can start at
// any block from given hidden states and skip any set of blocks.
#include "arch_table.h"
#include "model.h"

#include <ATen/ATen.h>
#include <functional>
#include <vector>

namespace tailor {

struct RopeTable {
    at::Tensor cos, sin; // [T, head_dim]
};

RopeTable makeRope(const ModelConfig& c, int64_t seqLen);

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& w, double eps);

// Inputs of a block's linear layers, captured for quantization and low-rank
// error measurements: q/k/v read attn_in, o reads o_in, gate/up read mlp_in,
// down reads down_in.
struct LinearInputs {
    at::Tensor attn_in, o_in, mlp_in, down_in;
    const at::Tensor& forRole(TensorRole role) const;
};

// The linear roles of a block in forward order: q k v o gate up down.
const std::vector<TensorRole>& linearRoles();

// Keys and values of the positions seen so far, per block (generation).
struct KvCache {
    at::Tensor k, v; // [B, n_head_kv, positions, head_dim]
    int64_t positions() const { return k.defined() ? k.size(2) : 0; }
};

// Something added to a linear layer's output, given the layer's role and input
// (LoRA adds scale·B·A·dropout(x)); an undefined tensor adds nothing.
using LinearAdapter = std::function<at::Tensor(TensorRole role, const at::Tensor& x)>;

// A linear layer's product x·Wᵀ (without bias) computed by the caller from
// weights it holds in another form (the decoder's packed blocks on int8, #32);
// blockForward then reads none of the seven weight tensors of BlockWeights.
using LinearProduct = std::function<at::Tensor(TensorRole role, const at::Tensor& x)>;

// One block: h [B, T, H] -> [B, T, H]. Differentiable (Taylor uses it with grads).
// With a cache, h holds the next T positions; the rope table must cover them.
at::Tensor blockForward(const BlockWeights& w, const ModelConfig& c, const at::Tensor& h,
                        const RopeTable& rope, LinearInputs* capture = nullptr, KvCache* cache = nullptr,
                        const LinearAdapter* adapter = nullptr, const LinearProduct* product = nullptr);

// Blocks [from, to) of the model, skipping those with skip[i] == true.
at::Tensor runBlocks(const Model& m, at::Tensor h, int from, int to, const RopeTable& rope,
                     const std::vector<bool>& skip = {});

// Final norm and lm_head: h [B, T, H] -> logits [B, T, vocab].
at::Tensor headLogits(const Model& m, const at::Tensor& h);

// Sum of next-token NLL over positions 1..T-1 of each window, in double.
// Computes logits in chunks of windows so the [B, T, vocab] tensor stays small.
// head: the lm_head's product when the caller multiplies it another way
// (PackedForward); by default at::linear on Model::lmHead().
double windowsNll(const Model& m, const at::Tensor& h, const at::Tensor& ids, const LinearProduct* head = nullptr);

// Mean NLL as a differentiable scalar (for gradients).
at::Tensor meanNllDifferentiable(const at::Tensor& logits, const at::Tensor& ids);

} // namespace tailor
