#pragma once
// Quantization-aware fine-tuning (#5): the linear weights train in fp32 while
// the forward pass sees them fake-quantized, W + (Q(W) − W).detach(), so the
// gradient passes Q straight through (STE). With Quant-Noise (Fan et al.
// 2020) each step quantizes only a random share p of the weight blocks (a
// group of a row, a row for per-channel schemes) and leaves the rest in full
// precision: W + (mask ⊙ (Q(W) − W)).detach(). AdamW with warm-up and cosine
// decay on a text. The result quantizes better: round-to-nearest of the
// trained weights loses less than round-to-nearest of the original ones.
// Torch-free API.
#include "core/util/progress.h"
#include "core/util/token_windows.h"
#include "quant_scheme.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;

struct QatOptions {
    QuantScheme scheme;
    double quant_noise = 1.0; // share of blocks quantized per step; 1 = every weight (plain QAT)
    std::string layers_regex; // empty = every linear layer of the blocks
    int64_t steps = 200;
    double lr = 1e-4;
    int64_t warmup_steps = 20;
    int64_t micro_batch = 4;
    int64_t seq_len = 128;
    double weight_decay = 0.0;
    double max_grad_norm = 1.0;
    uint64_t seed = 0;
    // Self-distillation: mix KL(original ‖ quantized) at this temperature into
    // the loss (0: next-token loss only). The teacher is the model before training.
    double kd_weight = 0.0;
    double temperature = 1.0;
    void validate() const;
};

struct QatStep {
    int64_t step = 0;
    double loss = 0, ce = 0, kd = 0, lr = 0;
};

struct QatResult {
    std::shared_ptr<Model> trained;   // full-precision weights after training
    std::shared_ptr<Model> quantized; // the trained weights, round-to-nearest with the scheme
    std::vector<QatStep> curve;
    int64_t steps_done = 0;
    bool cancelled = false; // a cancelled run keeps the finished steps
    int64_t trainable_parameters = 0;
    double seconds = 0;
};

QatResult quantAwareTrain(const Model& model, const TokenWindows& train, const QatOptions& opt, const ProgressFn& progress = {},
                          const std::function<void(const QatStep&)>& onStep = {});

} // namespace tailor
