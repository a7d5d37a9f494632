#pragma once
// Depth against width at the same budget (#18, the comparison Shortened LLaMA
// is about): for a share of the block parameters, one arm drops whole blocks
// (the least important by a block criterion), the other removes the same
// number of KV groups and MLP channels from every block (by a unit
// criterion), both healed with the same settings; each arm's PPL, KLD and
// top-1 agreement against the dense model, task accuracy, parameters, size and
// measured batch-1 prefill and decode speed and batch-8 generation
// throughput, beside the dense model's.
// Torch-free API (the Compress view runs it as a job; the report prints it).
#include "core/compress/apply_plan.h"
#include "core/compress/compression_plan.h"
#include "core/decode/batch_throughput.h"
#include "core/decode/decode_speed.h"

#include <QJsonObject>

#include <optional>
#include <string>
#include <vector>

namespace tailor {

class ModelSession;

struct DepthWidthOptions {
    double budget = 0.25;                  // share of the block parameters removed (0..1)
    std::string block_criterion = "bi";    // ppl | taylor | bi
    std::string unit_criterion = "taylor"; // taylor | activation | magnitude
    std::string calib;                     // scores (blocks and units); required
    std::string eval_text, task;           // optional: PPL/KLD, and task accuracy
    std::optional<PlanHeal> heal;          // the same healing for both arms
    DecodeSpeedOptions speed;              // batch-1 runs (drop_blocks ignored)
    int64_t batch = 8;                     // and generation throughput at this batch (0: not measured)
};

struct DepthWidthArm {
    std::string name;        // dense | depth | width
    std::string description; // what was removed
    CompressionPlan plan;    // empty for dense
    StageReport result;      // the arm's last stage (dense: the dense stage)
    double block_share_removed = 0;
    DecodeSpeed speed;
    BatchThroughput batch; // batch 0 when not measured
};

struct DepthWidthComparison {
    double budget = 0;
    std::vector<DepthWidthArm> arms; // dense, depth, width
    std::vector<std::string> warnings;
    QJsonObject toJson() const;
    std::string toMarkdown() const; // a table and one line on what it says
};

// The width counts nearest a budget: KV groups (as a share of the groups,
// rounded) and then the MLP channels that make up the rest of it.
struct WidthCounts {
    int64_t heads = 0, channels = 0;
};
WidthCounts widthCountsForBudget(const ModelConfig& c, double budget);

DepthWidthComparison compareDepthWidth(const ModelSession& session, const DepthWidthOptions& opt, const ProgressFn& progress = {});

} // namespace tailor
