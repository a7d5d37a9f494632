#pragma once
// Width pruning (#18): remove attention heads and MLP channels, keep every
// block — the other arm of Shortened LLaMA's comparison. Units:
//  - a KV group: the n_head / n_head_kv query heads that share one key/value
//    head, with that head (removing whole groups keeps GQA valid; with MHA a
//    group is one head): q rows, k and v rows (and biases), o columns;
//  - an MLP channel: a gate row, an up row and a down column.
// Importance per unit: first-order Taylor Σ|W ⊙ ∂L/∂W| over the unit's weights
// (LLM-Pruner's element-wise form, gradients of the calibration NLL, block by
// block), activation magnitude on calibration text (Minitron: mean L2 norm of
// a group's attention output, mean |SiLU(gate)·up| of a channel), or weight
// magnitude Σ|W|. Uniform pruning removes the same counts from every block,
// so every loader runs the result; ranked pruning lets the importance decide
// each block's counts (GGUF only). Torch-free API.
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
struct ModelConfig;

enum class WidthCriterion { Taylor, Activation, Magnitude };
WidthCriterion widthCriterionFromName(const std::string& name); // "taylor" "activation" "magnitude"
const char* widthCriterionName(WidthCriterion c);

struct WidthScores {
    WidthCriterion criterion = WidthCriterion::Magnitude;
    int64_t heads_per_group = 1;                  // query heads a KV group holds
    std::vector<std::vector<double>> groups;      // [block][kv group]
    std::vector<std::vector<double>> channels;    // [block][intermediate channel]
};

// Scores every unit of every block (calibration windows unused by Magnitude).
WidthScores scoreWidth(const Model& model, const TokenWindows& calib, WidthCriterion criterion,
                       const ProgressFn& progress = {});

// Removed units per block, ascending.
struct WidthPlan {
    std::vector<std::vector<int>> groups, channels;
    int64_t removedHeads(const ModelConfig& c, int block) const;
    bool uniform() const; // the same counts in every block
};

// The same number of heads (a multiple of the heads per KV group) and MLP
// channels removed from every block: the lowest-scoring units of each block.
// Errors: counts that leave a block without heads or channels, heads that
// break the grouping, negative counts.
WidthPlan uniformWidthPlan(const Model& model, const WidthScores& scores, int64_t heads, int64_t channels);

// Per-block counts from the importance (non-uniform): heads × blocks heads and
// channels × blocks channels in all, the lowest-scoring units across all
// blocks, each block keeping at least one KV group and one channel. Blocks of
// different widths run in Tailor and export as GGUF (llama.cpp's deci
// architecture holds per-block widths); a config.json cannot hold them.
// Errors as for the uniform plan.
WidthPlan rankedWidthPlan(const Model& model, const WidthScores& scores, int64_t heads, int64_t channels);

// Checks a plan against the model (block count, unit indices, at least one unit kept).
void validateWidthPlan(const Model& model, const WidthPlan& plan);

// The pruned model: the units' rows and columns cut out (stored dtype kept),
// config with the new head counts and intermediate size.
std::shared_ptr<Model> applyWidthPlan(const Model& model, const WidthPlan& plan);

// The config of the pruned model: the plan's heads and channels fewer, per
// block when its counts differ between blocks (the arch table's
// expectedShape(config, role, block) then gives each tensor's new shape).
ModelConfig prunedConfig(const ModelConfig& c, const WidthPlan& plan);

// Parameters of the model after the plan (every tensor, embedding included).
int64_t parametersAfterWidth(const Model& model, const WidthPlan& plan);

// The reference: same shapes, the removed units' outputs zeroed (o columns of
// the removed heads, down columns of the removed channels).
std::shared_ptr<Model> maskWidthPlan(const Model& model, const WidthPlan& plan);

} // namespace tailor
