#pragma once
// The one pipeline from a plan to files, called by `tailor-cli compress` and
// the Compress view alike (off the GUI thread): runPlan applies the plan with
// its own evaluation text and task, exportRun writes the HF folder or GGUF
// file and builds the report. The callers only turn their inputs (options,
// dialog) into an ExportTarget and show or print the result, so the two give
// the same bytes and the same report for the same plan.
#include "apply_plan.h"
#include "compression_report.h"
#include "core/export/gguf_export.h"

#include <optional>
#include <string>
#include <vector>

namespace tailor {

class ModelSession;

// Where and how a run is written.
struct ExportTarget {
    std::string path;          // a directory (hf) or a .gguf file
    std::string format = "hf"; // "hf" | "gguf"
    // HF: F32 | F16 | BF16, empty = each tensor as stored. GGUF: a llama-quantize
    // file type; empty = the plan's "gguf.type", else f16.
    std::string type;
    std::string imatrix;                   // GGUF: importance matrix file; empty = the plan's
    std::vector<std::string> tensor_types; // GGUF: REGEX=TYPE overrides, ahead of the plan's
    bool force = false;                    // replace an existing output
    bool factored = false;                 // HF: low-rank layers as lora_A/lora_B pairs
    bool report = true;                    // build the report (block influence, speeds, samples)
    ReportOptions report_options;          // its prompt, comparison; calib_text defaults to the plan's texts

    // The target with its defaults filled from the plan and every name
    // checked (format, type, overrides) before any work starts.
    ExportTarget resolved(const CompressionPlan& plan) const;
};

struct ExportResult {
    std::string path, format, type; // type as resolved ("" for HF as stored)
    uint64_t bytes_output = 0;
    std::vector<std::string> warnings;   // the export's (GGUF fallbacks)
    std::vector<GgufTensorType> types;   // GGUF: each tensor's type, in file order
    std::optional<CompressionReport> report;
};

// applyPlan with the plan's own evaluation text and task.
AppliedPlan runPlan(const ModelSession& session, const CompressionPlan& plan, const ProgressFn& progress = {},
                    const std::function<void(const HealStep&)>& onHealStep = {});

// Writes `applied` (the run of `plan`) to `target` and, when asked, builds the report.
ExportResult exportRun(const ModelSession& session, const CompressionPlan& plan, const AppliedPlan& applied,
                       const ExportTarget& target, const ProgressFn& progress = {});

// The README text an HF export carries: the plan that made it.
std::string planModelCard(const CompressionPlan& plan);

} // namespace tailor
