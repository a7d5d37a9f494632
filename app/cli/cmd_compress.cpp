// tailor-cli compress --plan PLAN.json --out DIR [--format hf] [--type f32|f16|bf16] [--text FILE] [--force] [--json]
// Applies the plan (drop -> low rank -> quantize) and exports a Hugging Face directory.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/compress/apply_plan.h"
#include "core/error.h"
#include "core/export/hf_export.h"
#include "core/model_session.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <cctype>
#include <cstdio>

namespace tailor::cli {

int cmdCompress(const Argv& argv)
{
    const Args args(argv, {"plan", "out", "format", "type", "text"}, {"json", "force"});
    const CompressionPlan plan = CompressionPlan::fromFile(args.require("plan"));
    const std::string outDir = args.require("out");
    const std::string format = args.get("format", "hf");
    if (format != "hf")
        throw Error("--format " + format + ": only 'hf' (Hugging Face directory) is implemented; GGUF export is not yet");
    std::string type = args.get("type", "bf16");
    for (auto& ch : type)
        ch = char(std::toupper(static_cast<unsigned char>(ch)));
    const auto session = ModelSession::open(plan.model);
    const auto progress = progressPrinter(false);
    const AppliedPlan applied = applyPlan(*session, plan, args.get("text"), progress);
    HfExportOptions eo;
    eo.dtype = type;
    eo.force = args.flag("force");
    eo.model_card = "Plan:\n\n```json\n" + QJsonDocument(plan.toJson()).toJson().toStdString() + "```\n";
    exportHf(*applied.model, applied.drop_blocks, outDir, eo, progress);
    QJsonArray stages, warnings;
    for (const auto& s : applied.stages)
        stages.append(QJsonObject{{"stage", QString::fromStdString(s.stage)}, {"ppl", s.ppl}, {"parameters", double(s.parameters)}});
    for (const auto& w : applied.warnings)
        warnings.append(QString::fromStdString(w));
    if (args.flag("json")) {
        printJson(QJsonObject{{"out", QString::fromStdString(outDir)}, {"stages", stages}, {"warnings", warnings}});
        return 0;
    }
    std::printf("%-8s %12s %14s\n", "stage", "ppl", "parameters");
    for (const auto& s : applied.stages)
        std::printf("%-8s %12.4f %14lld\n", s.stage.c_str(), s.ppl, (long long)s.parameters);
    std::printf("exported to %s\n", outDir.c_str());
    return 0;
}

} // namespace tailor::cli
