#pragma once
// Applies a compression plan in order: drop blocks -> low rank -> heal ->
// quantize, reporting after each stage the evaluation perplexity, the KL
// divergence from the dense model and top-1 agreement, and the parameters left. The result is a derived
// model plus the blocks to skip; the session's model is never changed.
// Calibration activations for whitened SVD and GPTQ flow through the pruned
// model (dropped blocks skipped), as the compressed model will see them.
#include "compression_plan.h"
#include "core/heal/lora_heal.h"
#include "core/util/progress.h"

#include <QJsonObject>
#include <functional>
#include <limits>

#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
class ModelSession;

struct StageReport {
    std::string stage; // dense, drop, lowrank, heal, quant
    double ppl = 0;    // on the evaluation text (L = 256), 0 when none was given
    // Drift from the dense model on the same windows (core/eval/fidelity.h): 0 and 1
    // for the dense stage, NaN when there is no evaluation text.
    double kld_mean = 0, kld_p99 = 0, top1_agreement = 1;
    int64_t parameters = 0;
    // Stored size: 16 bits per parameter (BF16/F16 export), quantized layers at
    // their scheme's bits per weight (scales included).
    double size_bytes = 0;
    // Multiple-choice task accuracy (core/eval/mc_tasks.h; NaN without a task file).
    // Last: stages are built by aggregate initialization of the fields above.
    double task_acc = std::numeric_limits<double>::quiet_NaN(), task_acc_stderr = std::numeric_limits<double>::quiet_NaN();
    double task_acc_norm = std::numeric_limits<double>::quiet_NaN();
};

struct AppliedPlan {
    std::shared_ptr<Model> model;
    std::vector<int> drop_blocks;
    std::vector<StageReport> stages;
    std::vector<std::string> warnings;
    std::vector<HealStep> heal_curve;
    // Relative output error ‖WX − ŴX‖/‖WX‖ on calibration inputs of each layer
    // the low-rank and quantization stages changed (NaN without calibration).
    struct LayerError {
        std::string stage, name;
        double output_rel_err = 0;
    };
    std::vector<LayerError> layer_errors;
    double quant_bits_per_weight = 0; // of the quantized layers, when quantized
    // Cancelled during healing: the model holds the last finished step, the
    // "heal" stage has ppl NaN (not evaluated) and the later stages did not run.
    bool heal_cancelled = false;
};

// `taskFile` (JSON Lines, core/eval/mc_tasks.h): every stage's multiple-choice accuracy too.
AppliedPlan applyPlan(const ModelSession& session, const CompressionPlan& plan, const std::string& evalText,
                      const ProgressFn& progress = {}, const std::function<void(const HealStep&)>& onHealStep = {},
                      const std::string& taskFile = {});

// One stage as JSON (tailor-cli compress and the report write the same keys).
QJsonObject stageReportJson(const StageReport& s);

} // namespace tailor
