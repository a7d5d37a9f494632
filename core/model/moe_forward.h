#pragma once
// The mixture-of-experts MLP (#30; HF Qwen3MoeSparseMoeBlock and
// MixtralSparseMoeBlock): a router scores every expert, each token goes to
// its top k, and their SwiGLU outputs are summed weighted by the router's
// softmax (renormalised over the k chosen when the config says so). Only the
// tokens routed to an expert are multiplied by its weights.
#include "llama_forward.h"
#include "model.h"

#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace tailor {

struct Routing {
    at::Tensor probs;   // [N, n_expert] softmax over every expert, fp32
    at::Tensor experts; // [N, k] chosen expert indices (long), best first
    at::Tensor weights; // [N, k] their weights in the sum (renormalised when norm_topk_prob)
};

// Routes N tokens x [N, H] through a block's router [n_expert, H].
Routing routeTokens(const at::Tensor& router, const ModelConfig& c, const at::Tensor& x);

// The choices that went to expert e: their positions in the flattened [N·k]
// lists of Routing (for its weights) and their token indices (for the inputs).
struct RoutedTo {
    at::Tensor choice, token; // long, empty when no token chose e
};
RoutedTo routedTo(const Routing& r, int64_t e);

// One expert's activation silu(x·gateᵀ) ⊙ (x·upᵀ) [n, I]: what its down matrix reads.
at::Tensor expertActivation(const BlockWeights::Expert& e, const at::Tensor& x);
// One expert's SwiGLU on x [n, H] -> [n, H].
at::Tensor expertForward(const BlockWeights::Expert& e, const at::Tensor& x);

// The block's MLP on y [B, T, H] (its normalised input) -> [B, T, H].
// Differentiable (Taylor scores the experts' weights through it).
at::Tensor moeForward(const BlockWeights& w, const ModelConfig& c, const at::Tensor& y);

// A block's weight matrices with the inputs each one multiplies (for error
// measurements): q k v o (gate up down) read LinearInputs; a mixture's
// router reads the MLP input and each expert's gate/up the tokens routed to
// it, its down their activations. Inputs are undefined without `in`.
struct BlockLinear {
    TensorRole role;
    std::string name; // HF name
    int expert = -1;
    at::Tensor weight, input;
};
std::vector<BlockLinear> blockLinears(const BlockWeights& w, const ModelConfig& c, int block, const LinearInputs* in);

} // namespace tailor
