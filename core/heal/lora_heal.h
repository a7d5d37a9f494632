#pragma once
// Healing a compressed model (#7): LoRA adapters (Hu et al. 2021) on the
// kept blocks' linear layers, trained on a text with AdamW, warm-up and cosine
// decay, micro-batches with gradient accumulation; optionally with knowledge
// distillation from the original model's logits (KL at temperature T, mixed
// with the next-token loss by a weight; the teacher runs without gradients,
// block after block, so its memory is one block's activations). At the end the
// adapters are merged into the weights: W' = W + (α/r)·B·A.
// A cancelled run keeps the adapters of the last completed step. Torch-free API.
#include "core/model/arch_table.h"
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <QJsonObject>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;

class JsonReader;

struct HealOptions {
    int64_t rank = 8;
    double alpha = 16;
    double dropout = 0.05;
    // every weight matrix of the blocks (q k v o gate up down): the paper's choice
    std::vector<std::string> targets = blockLinearKinds();
    double lr = 3e-4;
    double weight_decay = 0.0;
    int64_t warmup_steps = 20;
    int64_t steps = 200;  // optimizer steps; epochs > 0 overrides
    int64_t epochs = 0;
    int64_t micro_batch = 4; // windows per forward
    int64_t grad_accum = 1;  // micro-batches per optimizer step
    int64_t seq_len = 128;
    double max_grad_norm = 1.0;
    double kd_weight = 0.0; // 0: next-token loss only; 1: distillation only
    double temperature = 2.0;
    uint64_t seed = 0;
    // Adapters on the last K kept blocks only (0: every kept block); the
    // blocks before them run without gradients, so a step costs their forward
    // pass alone. The plan's "last-layers" healing (#29); not in toJson: the
    // plan writes it as "layers".
    int64_t last_blocks = 0;

    // {"rank", "alpha", "dropout", "targets", "lr", "weight_decay", "warmup_steps", "steps", "epochs",
    //  "micro_batch", "grad_accum", "seq_len", "max_grad_norm", "kd_weight", "temperature", "seed", "text"}
    // Reads the settings from the plan's "heal" object (its "text" is the caller's).
    static HealOptions fromJson(JsonReader& r);
    QJsonObject toJson() const;
    void validate() const; // throws Error naming the bad setting
};

struct HealStep {
    int64_t step = 0;
    double loss = 0, ce = 0, kd = 0, lr = 0; // loss = (1 − w)·ce + w·kd
};

struct HealResult {
    std::shared_ptr<Model> model; // adapters merged
    std::vector<HealStep> curve;
    int64_t steps_done = 0;
    bool cancelled = false;
    int64_t trainable_parameters = 0;
    double seconds = 0;
    std::vector<std::string> warnings;
};

// `student` is healed as it is, skipping `dropBlocks`; `teacher` (the original
// model, all blocks) is needed when kd_weight > 0. `onStep` sees every step
// (the GUI's live loss curve).
HealResult healWithLora(const Model& student, const std::vector<int>& dropBlocks, const Model* teacher,
                        const TokenWindows& train, const HealOptions& opt, const ProgressFn& progress = {},
                        const std::function<void(const HealStep&)>& onStep = {});

} // namespace tailor
