#pragma once
// What a compression run did and cost, for people and scripts: before/after
// perplexity per stage, parameters, file size and bits per parameter, blocks
// dropped, ranks, quantization, per-layer output errors, the block influence
// of the dense model, the healing curve, dense vs compressed generation speed
// (prefill and batch-1 decode tokens/s) and both models' greedy continuation
// of a prompt. JSON here; Markdown and PNG charts come from ui/report (the
// views' plotting code).
#include "core/decode/decode_speed.h"
#include "apply_plan.h"
#include "depth_vs_width.h"

#include <QJsonObject>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tailor {

class ModelSession;

struct GenerationSample {
    double prefill_tokens_per_s = 0, decode_tokens_per_s = 0; // medians of the speed runs
    DecodeSpeed speed;                                         // with their spread and the roofline
    std::string text;
};

struct CompressionReport {
    std::string model_dir, output, format, type;
    QJsonObject plan;
    std::vector<StageReport> stages;
    std::vector<int> drop_blocks;
    std::map<std::string, int64_t> ranks;
    std::string quant_scheme;
    double quant_bits_per_weight = 0;
    int64_t parameters_dense = 0, parameters_compressed = 0;
    uint64_t bytes_dense = 0, bytes_output = 0; // checkpoint files; the export (0 if none)
    std::vector<double> block_influence;         // dense model, per block (1 − cos of a block's input and output)
    std::vector<AppliedPlan::LayerError> layer_errors;
    std::vector<HealStep> heal_curve;
    bool heal_cancelled = false;
    std::string prompt;
    GenerationSample dense, compressed;
    std::optional<DepthWidthComparison> depth_width; // when the user ran the comparison
    std::vector<std::string> warnings;

    QJsonObject toJson() const;
    // `charts`: chart name -> image file (relative), embedded where they belong.
    std::string toMarkdown(const std::map<std::string, std::string>& charts) const;
};

struct ReportOptions {
    std::string calib_text; // for block influence; none = not computed
    std::string prompt = "Once upon a time";
    int max_positions = 64;
    std::optional<DepthWidthComparison> depth_width; // included as it is
};

CompressionReport buildReport(const ModelSession& session, const CompressionPlan& plan, const AppliedPlan& applied,
                              const ReportOptions& opt, const ProgressFn& progress = {});

// Bytes of the files of an export (a GGUF file or a directory's files).
uint64_t pathBytes(const std::string& path);

} // namespace tailor
