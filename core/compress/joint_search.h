#pragma once
// One size budget across every axis (#29): which blocks to drop, how much of
// each MLP to cut and which llama.cpp type each remaining tensor gets, chosen
// together for a GGUF file size, and checked by measurement.
//
// How the damage of a combination is predicted. Each structural arm (drop the
// d least important blocks, each span healed by a fitted linear map; or cut a
// share of every block's MLP channels) is built and its KL divergence from
// the dense model measured alone on the calibration windows. The types are
// then allocated for the bytes the arm leaves (bit_allocation's knapsack over
// the kept tensors, each tensor's per-type KLD sensitivity measured once on
// the dense model). Prediction = the arm's measured KLD + the summed type
// sensitivities: additive, as small independent perturbations are to first
// order. The best predicted plans (and always the quant-only plan, the
// single-axis reference) are then quantized as the file would be and their
// KLD measured against the dense model on the evaluation windows; the chosen
// plan is the measured best that fits. docs/benchmarks.md records how close
// the prediction came (rank correlation over the measured plans).
#include "core/compress/budget_search.h"
#include "core/compress/compression_plan.h"
#include "core/compress/width_prune.h"
#include "core/eval/fidelity.h"

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tailor {

class Model;

struct JointOptions {
    uint64_t target_bytes = 0;                   // the GGUF file's size
    bool depth = true, width = true;             // axes besides the types (always on)
    int max_drop = -1;                           // blocks dropped at most; -1: a quarter of them
    std::vector<double> width_shares{0.1, 0.2};  // MLP channels removed per block (rounded to whole type blocks)
    bool linear_heal = true;                     // depth arms healed by a fitted map per span
    const TokenWindows* heal_windows = nullptr;  // the maps' fitting windows (the calibration windows when null)
    int measure = 4;                             // plans measured end to end besides the quant-only one
    // Other sizes for the measured frontier: at each, the best predicted plan
    // of each kind (quant only, depth + quant, width + quant) is measured too.
    std::vector<uint64_t> frontier_bytes;
    BudgetOptions budget;                        // candidates, base type, imatrix (target and value are set here)
    // Each measured plan's task accuracy, given its quantized model and the
    // blocks it skips (the caller holds the tokenizer and the task); none when empty.
    std::function<double(const Model& model, const std::vector<int>& drop)> task_accuracy;
};

struct JointPlan {
    std::string kind;  // "quant", "depth+quant", "width+quant"
    std::string label; // "types", "drop 3, 9 + types", "MLP -64 + types"
    std::vector<int> drop;
    std::optional<WidthPlan> width;
    SchemeByTensor scheme;                 // HF name (source numbering) -> type
    std::vector<std::string> tensor_types; // the GGUF overrides, named as in the file
    uint64_t file_bytes = 0;               // exactly what the export writes
    double structural_kld = 0;             // the drop or cut alone, measured (calibration)
    double predicted_kld = 0;              // structural + the types' sensitivities
    bool measured = false, chosen = false;
    FidelityResult result;                 // measured on the evaluation windows
    double task_acc = std::nan("");        // with JointOptions::task_accuracy
};

struct JointResult {
    uint64_t target_bytes = 0;
    uint64_t min_bytes = 0, max_bytes = 0; // what the arms can reach
    std::vector<int> block_order;          // least important first (KLD of each block dropped alone)
    std::vector<JointPlan> plans;          // every feasible arm at the target, by predicted KLD
    int chosen = -1;                       // index into plans
    std::vector<JointPlan> frontier;       // measured at frontier_bytes (by size, then kind)
    double rank_correlation = 0;           // Spearman, predicted vs measured KLD, over every measured plan
    std::vector<std::string> warnings;
};

// The plans the arms allow. Errors (before any measurement beyond the
// sensitivities' shapes): a target outside the achievable range (with the
// range), an axis the model does not allow (named).
JointResult searchJoint(const Model& dense, const TokenWindows& calib, const TokenWindows& eval, const JointOptions& opt,
                        const ProgressFn& progress = {});

// The plan a joint plan stands for: `base` (model, texts, the GGUF
// imatrix file) with its blocks to drop, width, healing (the linear map on
// base.calib, as the search fitted it, when blocks are dropped) and GGUF
// types; low rank and Tailor's own quantization cleared. What
// `tailor-cli plan --out` writes and what a click on the Fit to size chart
// puts in the store.
CompressionPlan withJointPlan(CompressionPlan base, const JointPlan& p, const JointOptions& opt);

} // namespace tailor
