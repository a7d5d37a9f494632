#include "plan_pipeline.h"

#include "core/analysis/imatrix.h"
#include "core/export/hf_export.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "core/model/model_session.h"
#include "core/util/error.h"

#include <QJsonDocument>

#include <cctype>

namespace tailor {

ExportTarget ExportTarget::resolved(const CompressionPlan& plan) const
{
    ExportTarget t = *this;
    if (t.format != "hf" && t.format != "gguf")
        throw Error("export format '" + t.format + "': 'hf' (a Hugging Face directory) or 'gguf' (one file for llama.cpp)");
    if (t.format == "gguf") {
        const PlanGguf g = plan.gguf.value_or(PlanGguf{});
        if (t.type.empty())
            t.type = g.type.empty() ? "f16" : g.type;
        t.type = gguf::mixture(t.type).name; // an unknown name fails here, before any work
        if (t.imatrix.empty())
            t.imatrix = g.imatrix;
        // the caller's overrides first: the first match wins
        t.tensor_types.insert(t.tensor_types.end(), g.tensor_types.begin(), g.tensor_types.end());
        for (const std::string& spec : t.tensor_types)
            gguf::parseTypeOverride(spec);
    } else {
        if (!t.imatrix.empty() || !t.tensor_types.empty())
            throw Error("an importance matrix and tensor type overrides apply to GGUF exports");
        for (auto& ch : t.type)
            ch = char(std::toupper(static_cast<unsigned char>(ch)));
        if (!t.type.empty() && t.type != "F32" && t.type != "F16" && t.type != "BF16")
            throw Error("HF export type '" + t.type + "': F32, F16 or BF16 (or none: each tensor as stored)");
    }
    if (t.report_options.calib_text.empty())
        t.report_options.calib_text = plan.calib.empty() ? plan.eval_text : plan.calib;
    return t;
}

AppliedPlan runPlan(const ModelSession& session, const CompressionPlan& plan, const ProgressFn& progress,
                    const std::function<void(const HealStep&)>& onHealStep)
{
    return applyPlan(session, plan, plan.eval_text, progress, onHealStep, plan.task);
}

std::string planModelCard(const CompressionPlan& plan)
{
    return "Plan:\n\n```json\n" + QJsonDocument(plan.toJson()).toJson().toStdString() + "```\n";
}

ExportResult exportRun(const ModelSession& session, const CompressionPlan& plan, const AppliedPlan& applied,
                       const ExportTarget& target, const ProgressFn& progress)
{
    const ExportTarget t = target.resolved(plan);
    ExportResult out;
    out.path = t.path;
    out.format = t.format;
    out.type = t.type;
    if (t.format == "gguf") {
        GgufExportOptions go;
        go.type = t.type;
        go.force = t.force;
        for (const std::string& spec : t.tensor_types)
            go.overrides.push_back(gguf::parseTypeOverride(spec));
        std::optional<Imatrix> imatrix;
        if (!t.imatrix.empty())
            imatrix = readImatrix(t.imatrix); // errors name the file
        go.imatrix = imatrix ? &*imatrix : nullptr;
        const GgufExportReport r = exportGguf(*applied.model, applied.drop_blocks, t.path, go, progress);
        out.warnings = r.warnings;
        out.types = r.types;
    } else {
        HfExportOptions ho;
        ho.dtype = t.type;
        ho.force = t.force;
        ho.factored = t.factored;
        ho.model_card = planModelCard(plan);
        exportHf(*applied.model, applied.drop_blocks, t.path, ho, progress);
    }
    out.bytes_output = pathBytes(t.path);
    if (t.report) {
        CompressionReport r = buildReport(session, plan, applied, t.report_options, progress);
        r.output = t.path;
        r.format = t.format;
        r.type = t.type;
        r.bytes_output = out.bytes_output;
        out.report = std::move(r);
    }
    return out;
}

} // namespace tailor
