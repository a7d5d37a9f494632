#pragma once
// Pieces shared by the fine-tuning loops (LoRA healing, quantization-aware
// training): AdamW with decoupled weight decay and bias-corrected moments,
// warm-up then cosine learning-rate decay, gradient-norm clipping, and a
// seeded sampler of training windows that reshuffles every epoch, and the
// distillation loss from a teacher model.
#include "core/model/llama_forward.h"
#include "core/util/token_windows.h"

#include <ATen/ATen.h>
#include <random>
#include <vector>

namespace tailor::train {

class AdamW {
public:
    explicit AdamW(std::vector<at::Tensor> params, double weightDecay = 0.0);
    // One step with the parameters' .grad() (scaled by `gradScale`), then zeroes the grads.
    void step(double lr, double gradScale = 1.0);
    // sqrt(Σ‖g‖²) over the parameters' gradients.
    double gradNorm() const;

private:
    std::vector<at::Tensor> params_, m_, v_;
    double weightDecay_;
    int64_t t_ = 0;
};

// lr·step/warmup during warm-up, then lr·(1 + cos(π·progress))/2 down to 0 at `total`.
double cosineLearningRate(double lr, int64_t warmup, int64_t step, int64_t total);

// KL(teacher ‖ student) of the next-token distributions at temperature T,
// scaled by T² (Hinton et al.), over positions 0..T−2 of `ids`. The teacher
// runs without a graph, block by block, so it costs one block's activations.
at::Tensor distillationLoss(const Model& teacher, const at::Tensor& ids, const RopeTable& rope, const at::Tensor& studentLogits,
                            double temperature);

// Micro-batches of windows [n, seq_len] (int64), every window once per epoch.
class WindowSampler {
public:
    WindowSampler(const TokenWindows& windows, uint64_t seed);
    at::Tensor next(int64_t n);

private:
    const TokenWindows& windows_;
    at::Tensor all_;
    std::mt19937_64 rng_;
    std::vector<int64_t> order_;
    std::size_t cursor_;
};

} // namespace tailor::train
