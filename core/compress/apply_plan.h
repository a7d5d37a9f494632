#pragma once
// Applies a compression plan in order: drop blocks -> low rank -> quantize
// (healing is not implemented yet), reporting after each stage the
// evaluation perplexity and the parameters left. The result is a derived
// model plus the blocks to skip; the session's model is never changed.
// Calibration activations for whitened SVD and GPTQ come from the dense model.
#include "compression_plan.h"
#include "core/progress.h"

#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
class ModelSession;

struct StageReport {
    std::string stage; // dense, drop, lowrank, quant
    double ppl = 0;    // on the evaluation text (L = 256), 0 when none was given
    int64_t parameters = 0;
};

struct AppliedPlan {
    std::shared_ptr<Model> model;
    std::vector<int> drop_blocks;
    std::vector<StageReport> stages;
    std::vector<std::string> warnings;
};

AppliedPlan applyPlan(const ModelSession& session, const CompressionPlan& plan, const std::string& evalText,
                      const ProgressFn& progress = {});

} // namespace tailor
