// tailor-cli compress --plan PLAN.json --out DIR|FILE.gguf [--format hf|gguf] [--type TYPE] [--text FILE] [--task FILE.jsonl] [--force]
//                     [--imatrix FILE.gguf] [--tensor-type REGEX=TYPE ...]
//                     [--heal-text FILE [--heal-steps N] [--heal-rank R] [--heal-alpha A] [--heal-lr LR]
//                      [--heal-batch B] [--heal-accum K] [--kd-weight W] [--kd-temperature T]] [--json]
// Applies the plan (drop -> low rank -> heal -> quantize) and exports a Hugging Face directory
// (f32, f16, bf16; --factored keeps low-rank layers as lora_A/lora_B pairs) or a GGUF file
// typed as llama-quantize would for --type (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k_s/m/l
// q4_k_s/m q5_k_s/m q6_k), with an importance matrix and per-tensor overrides (also "gguf" in the plan).
// --text gives each stage's PPL, KLD and top-1 agreement against the dense model, --task its
// multiple-choice accuracy (core/eval/mc_tasks.h). The --heal-* options add healing to the plan or override its settings. --dry-run only checks
// the plan against its model.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/compress/plan_pipeline.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "ui/report/report_writer.h"
#include "core/util/error.h"
#include "core/model/model_session.h"
#include "core/eval/result_json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <cctype>
#include <cstdio>
#include <optional>

namespace tailor::cli {

int cmdCompress(const Argv& argv)
{
    const Args args(argv, commandSpec("compress"));
    const std::string planPath = args.require("plan");
    // every error about the plan, its model or their fit names the plan file
    const auto inPlan = [&](const auto& f) {
        try {
            return f();
        } catch (const Error& e) {
            const std::string what = e.what();
            if (what.find(planPath) != std::string::npos)
                throw;
            throw Error(planPath + ": " + what);
        }
    };
    CompressionPlan plan = inPlan([&] { return CompressionPlan::fromFile(planPath); });
    if (args.has("heal-text") || plan.heal) {
        PlanHeal h = plan.heal.value_or(PlanHeal{});
        h.text = args.get("heal-text", h.text);
        h.method = args.get("heal-method", h.method);
        if (h.method != "lora" && h.method != "linear" && h.method != "last-layers")
            throw UsageError("--heal-method " + h.method +
                             ": 'lora' (train adapters), 'last-layers' (adapters on the last --heal-layers blocks) or 'linear' (fit a map "
                             "per dropped span)");
        const bool lora = !h.isLinear();
        if (h.method == "last-layers") {
            h.options.last_blocks = args.getInt("heal-layers", h.options.last_blocks);
            if (h.options.last_blocks < 1)
                throw UsageError("--heal-method last-layers needs --heal-layers K (K >= 1)");
        } else if (args.has("heal-layers"))
            throw UsageError("--heal-layers applies to --heal-method last-layers");
        for (const char* opt : {"heal-steps", "heal-rank", "heal-alpha", "heal-lr", "heal-batch", "heal-accum", "heal-seed", "kd-weight", "kd-temperature"})
            if (!lora && args.has(opt))
                throw UsageError(std::string("--") + opt + " is a LoRA setting; linear healing fits a map (--heal-ridge)");
        if (lora && args.has("heal-ridge"))
            throw UsageError("--heal-ridge applies to --heal-method linear");
        HealOptions& o = h.options;
        o.steps = args.getInt("heal-steps", o.steps);
        o.rank = args.getInt("heal-rank", o.rank);
        o.alpha = args.getDouble("heal-alpha", o.alpha);
        o.lr = args.getDouble("heal-lr", o.lr);
        o.micro_batch = args.getInt("heal-batch", o.micro_batch);
        o.grad_accum = args.getInt("heal-accum", o.grad_accum);
        o.kd_weight = args.getDouble("kd-weight", o.kd_weight);
        o.temperature = args.getDouble("kd-temperature", o.temperature);
        o.seed = uint64_t(args.getInt("heal-seed", (long long)o.seed));
        h.linear.ridge = args.getDouble("heal-ridge", h.linear.ridge);
        if (lora)
            o.validate();
        else
            h.linear.validate();
        plan.heal = h;
    } else if (args.has("heal-steps") || args.has("kd-weight") || args.has("heal-method") || args.has("heal-ridge") ||
               args.has("heal-layers"))
        throw UsageError("healing options need --heal-text FILE (or 'heal' in the plan)");
    // the command line's texts and export settings go into the plan and the target; then the one pipeline
    if (args.has("text"))
        plan.eval_text = args.get("text");
    if (args.has("task"))
        plan.task = args.get("task");
    const bool dryRun = args.flag("dry-run");
    ExportTarget target;
    target.path = dryRun ? args.get("out") : args.require("out");
    target.format = args.get("format", "hf");
    target.type = args.get("type");
    target.imatrix = args.get("imatrix");
    target.tensor_types = args.getAll("tensor-type");
    target.force = args.flag("force");
    target.factored = args.flag("factored");
    target.report = args.has("report");
    target.report_options.prompt = args.get("prompt", target.report_options.prompt);
    if (target.format != "hf" && target.format != "gguf")
        throw UsageError("--format " + target.format + ": 'hf' (a Hugging Face directory) or 'gguf' (one file for llama.cpp)");
    if (target.format == "hf" && (args.has("imatrix") || args.has("tensor-type")))
        throw UsageError("--imatrix and --tensor-type apply to --format gguf");
    // unknown types and overrides fail here, before any work; exportRun
    // resolves the target itself (once: the plan's overrides are not appended twice)
    static_cast<void>(target.resolved(plan));
    const auto session = inPlan([&] { return ModelSession::open(plan.model); });
    // --dry-run: the plan checked against its model, nothing computed or written
    if (dryRun) {
        inPlan([&] { plan.validate(session->model()); return 0; });
        printJson(QJsonObject{{"valid", true}, {"plan", plan.toJson()}});
        return 0;
    }
    const auto progress = progressPrinter(false);
    const AppliedPlan applied = runPlan(*session, plan, progress);
    const ExportResult exported = exportRun(*session, plan, applied, target, progress);
    const std::string& outDir = exported.path;
    QJsonArray stages, warnings, curve, tensorTypes;
    for (const auto& w : exported.warnings)
        warnings.append(QString::fromStdString(w));
    for (const auto& t : exported.types)
        tensorTypes.append(QJsonObject{{"name", QString::fromStdString(t.name)},
                                       {"type", QString::fromStdString(gguf::typeName(t.type))},
                                       {"imatrix", t.imatrix}, {"overridden", t.overridden}});
    for (const auto& s : applied.stages)
        stages.append(stageReportJson(s));
    for (const auto& w : applied.warnings)
        warnings.append(QString::fromStdString(w));
    QJsonObject extra;
    if (exported.report) {
        const QStringList files = ui::writeReportFolder(*exported.report, QString::fromStdString(args.get("report")), args.flag("force"));
        extra["report"] = QString::fromStdString(args.get("report"));
        extra["report_files"] = QJsonArray::fromStringList(files);
        extra["bytes_output"] = double(exported.bytes_output);
        const QJsonObject json = exported.report->toJson();
        extra["dense"] = json["dense"];
        extra["compressed"] = json["compressed"];
    }
    for (const auto& h : applied.heal_curve)
        curve.append(QJsonObject{{"step", double(h.step)}, {"loss", h.loss}, {"ce", h.ce}, {"kd", h.kd}, {"lr", h.lr}});
    if (args.flag("json")) {
        QJsonObject o{{"out", QString::fromStdString(outDir)}, {"stages", stages}, {"warnings", warnings}, {"heal_curve", curve}};
        if (exported.format == "gguf")
            o["tensor_types"] = tensorTypes;
        for (auto it = extra.begin(); it != extra.end(); ++it)
            o[it.key()] = it.value();
        printJson(o);
        return 0;
    }
    std::printf("%-8s %12s %10s %8s %14s %10s %9s\n", "stage", "ppl", "kld", "top-1 %", "parameters", "size MB", "task acc");
    for (const auto& s : applied.stages)
        std::printf("%-8s %12.4f %10.5f %8.2f %14lld %10.2f %9.3f\n", s.stage.c_str(), s.ppl, s.kld_mean, 100 * s.top1_agreement,
                    (long long)s.parameters, s.size_bytes / 1e6, s.task_acc);
    if (!applied.heal_curve.empty())
        std::printf("healing: loss %.4f at step 1 -> %.4f at step %lld\n", applied.heal_curve.front().loss,
                    applied.heal_curve.back().loss, (long long)applied.heal_curve.back().step);
    for (const auto& w : warnings)
        std::printf("warning: %s\n", w.toString().toStdString().c_str());
    std::printf("exported to %s\n", outDir.c_str());
    if (extra.contains("report"))
        std::printf("report in %s (report.md, report.json, charts)\n", args.get("report").c_str());
    return 0;
}

} // namespace tailor::cli
