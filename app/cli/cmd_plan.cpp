// tailor-cli plan MODEL --calib FILE (--target-size BYTES[K|M|G]|TYPE | --target-bpw B)
//                 [--axes depth,width,quant] [--max-drop D] [--no-heal] [--measure N] [--imatrix FILE]
//                 [--text FILE] [--task FILE.jsonl] [--frontier SIZE,SIZE,...] [--out PLAN.json] [--force] [--json]
// One size budget across every axis (core/compress/joint_search.h): blocks to
// drop (healed by a fitted linear map), MLP channels to cut, and a llama.cpp
// type per tensor, for a GGUF file of the target size. Prints the measured
// frontier (each arm's size, predicted and measured KLD, top-1, PPL) and
// writes the best plan, which `compress --plan PLAN --format gguf` exports at
// exactly the predicted size. --target-bpw is bits per parameter of the whole
// file (the dense model's parameters).
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "size_args.h"

#include "core/analysis/imatrix.h"
#include "core/compress/compression_plan.h"
#include "core/compress/joint_search.h"
#include "core/eval/mc_tasks.h"
#include "core/model/model_session.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"

#include <QFileInfo>
#include <QJsonArray>
#include <cmath>
#include <cstdio>

namespace tailor::cli {

namespace {
QJsonObject jointPlanJson(const JointPlan& p)
{
    QJsonArray drop;
    for (int b : p.drop)
        drop.append(b);
    QJsonObject o{{"kind", QString::fromStdString(p.kind)}, {"label", QString::fromStdString(p.label)},
                  {"drop_blocks", drop},        {"file_bytes", double(p.file_bytes)},
                  {"structural_kld", p.structural_kld}, {"predicted_kld", p.predicted_kld},
                  {"measured", p.measured},     {"chosen", p.chosen}};
    if (p.width) {
        int64_t channels = 0;
        for (const auto& c : p.width->channels)
            channels += int64_t(c.size());
        o["width_channels_removed"] = double(channels);
    }
    if (p.measured) {
        o["kld_mean"] = p.result.kld_mean;
        o["kld_p99"] = p.result.kld_p99;
        o["top1_agreement"] = p.result.top1_agreement;
        o["ppl"] = p.result.ppl;
        o["base_ppl"] = p.result.base_ppl;
        if (std::isfinite(p.task_acc))
            o["task_acc"] = p.task_acc;
    }
    return o;
}
} // namespace

int cmdPlan(const Argv& argv)
{
    const Args args(argv, commandSpec("plan"));
    if (args.has("target-bpw") == args.has("target-size"))
        throw UsageError("give one of --target-size BYTES|TYPE and --target-bpw BITS");
    const std::string dir = args.positional(0, "MODEL");
    const std::string calibPath = args.require("calib");
    if (args.has("out") && QFileInfo::exists(QString::fromStdString(args.get("out"))) && !args.flag("force"))
        throw UsageError(args.get("out") + ": exists; pass --force to replace it");
    JointOptions opt;
    bool quant = false;
    const std::string axes = args.get("axes", "depth,width,quant");
    opt.depth = opt.width = false;
    for (const std::string& item : args.getList("axes", axes)) {
        if (item == "depth")
            opt.depth = true;
        else if (item == "width")
            opt.width = true;
        else if (item == "quant")
            quant = true;
        else
            throw UsageError("--axes " + axes + ": '" + item + "' is not an axis (depth, width, quant)");
    }
    if (!quant)
        throw UsageError("--axes " + axes + ": quant is needed (a GGUF size is reached by the types; depth and width join them)");
    setComputeThreads(int(args.getInt("threads", 0)));
    const auto session = ModelSession::open(dir);
    const Model& model = session->model();
    Imatrix imatrix;
    if (args.has("imatrix")) {
        imatrix = readImatrix(args.get("imatrix"));
        opt.budget.imatrix = &imatrix;
    }
    std::string sizeOf;
    if (args.has("target-size")) {
        opt.target_bytes = uint64_t(targetFileBytes(args.get("target-size"), model, opt.budget.imatrix, "--target-size", &sizeOf));
    } else {
        const double bpw = args.getDouble("target-bpw", 0);
        if (!(bpw > 0))
            throw UsageError("--target-bpw must be a positive number of bits per parameter");
        opt.target_bytes = uint64_t(std::floor(bpw * double(session->summary().parameters) / 8.0));
    }
    for (const std::string& item : args.getList("frontier"))
        if (!item.empty())
            opt.frontier_bytes.push_back(uint64_t(targetFileBytes(item, model, opt.budget.imatrix, "--frontier")));
    opt.max_drop = int(args.getInt("max-drop", -1));
    opt.linear_heal = !args.flag("no-heal");
    opt.measure = int(args.getInt("measure", opt.measure));
    CalibOptions co;
    co.windows = args.getInt("windows", 10);
    co.seq_len = args.getInt("seq-len", 128);
    const TokenWindows calib = session->calibration(calibPath, co);
    // the maps are fitted on the windows the plan's own healing stage will cut
    const TokenWindows healWindows = linearHealWindows(*session, calibPath, LinearHealOptions{});
    opt.heal_windows = &healWindows;
    TokenWindows eval;
    if (args.has("text"))
        eval = cutWindows(session->tokenizeFile(args.get("text")), args.getInt("eval-seq-len", 256), args.getInt("max-windows", 0),
                          args.get("text"));
    std::vector<McItem> task;
    if (args.has("task")) {
        task = readTaskFile(args.get("task"));
        const std::string taskPath = args.get("task");
        opt.task_accuracy = [&session, &task, taskPath](const Model& m, const std::vector<int>& drop) {
            McOptions mo;
            mo.drop_blocks = drop;
            return evaluateTask(m, session->tokenizer(), task, mo, taskPath).acc;
        };
    }
    const JointResult r = searchJoint(model, calib, eval, opt, progressPrinter(false));
    const JointPlan& best = r.plans[std::size_t(r.chosen)];

    QJsonObject out{{"target_bytes", double(r.target_bytes)},
                    {"min_bytes", double(r.min_bytes)},
                    {"max_bytes", double(r.max_bytes)},
                    {"rank_correlation", r.rank_correlation}};
    if (!sizeOf.empty())
        out["size_of"] = QString::fromStdString(sizeOf);
    QJsonArray plans, order, warnings;
    for (const auto& p : r.plans)
        plans.append(jointPlanJson(p));
    for (int b : r.block_order)
        order.append(b);
    for (const auto& w : r.warnings)
        warnings.append(QString::fromStdString(w));
    out["plans"] = plans;
    QJsonArray frontier;
    for (const auto& p : r.frontier)
        frontier.append(jointPlanJson(p));
    out["frontier"] = frontier;
    out["chosen"] = jointPlanJson(best);
    out["block_order"] = order;
    out["warnings"] = warnings;

    if (args.has("out")) {
        CompressionPlan base;
        base.model = dir;
        base.calib = calibPath;
        base.eval_text = args.get("text");
        base.task = args.get("task");
        base.gguf = PlanGguf{};
        base.gguf->imatrix = args.get("imatrix");
        const CompressionPlan plan = withJointPlan(base, best, opt);
        plan.save(args.get("out"));
        out["plan"] = QString::fromStdString(args.get("out"));
    }
    if (args.flag("json")) {
        printJson(out);
        return 0;
    }
    std::printf("target %llu bytes%s (reachable %llu to %llu)\n", (unsigned long long)r.target_bytes,
                sizeOf.empty() ? "" : (" = " + sizeOf).c_str(), (unsigned long long)r.min_bytes, (unsigned long long)r.max_bytes);
    std::printf("%-44s %12s %10s %10s %10s %8s %10s\n", "plan", "file bytes", "struct.", "pred. KLD", "KLD mean", "top-1", "PPL");
    for (const auto& p : r.plans) {
        if (p.measured)
            std::printf("%-44s %12llu %10.5f %10.5f %10.5f %7.2f%% %10.4f%s\n", p.label.c_str(), (unsigned long long)p.file_bytes,
                        p.structural_kld, p.predicted_kld, p.result.kld_mean, 100 * p.result.top1_agreement, p.result.ppl,
                        p.chosen ? "  <- chosen" : "");
        else
            std::printf("%-44s %12llu %10.5f %10.5f %10s %8s %10s\n", p.label.c_str(), (unsigned long long)p.file_bytes,
                        p.structural_kld, p.predicted_kld, "-", "-", "-");
    }
    if (!r.frontier.empty())
        std::printf("frontier:\n");
    for (const auto& p : r.frontier)
        std::printf("%-44s %12llu %10.5f %10.5f %10.5f %7.2f%% %10.4f\n", p.label.c_str(), (unsigned long long)p.file_bytes,
                    p.structural_kld, p.predicted_kld, p.result.kld_mean, 100 * p.result.top1_agreement, p.result.ppl);
    std::printf("rank correlation of predicted and measured KLD: %.3f\n", r.rank_correlation);
    for (const auto& w : r.warnings)
        std::printf("note: %s\n", w.c_str());
    if (args.has("out"))
        std::printf("plan written to %s (tailor-cli compress --plan %s --format gguf --out FILE.gguf)\n", args.get("out").c_str(),
                    args.get("out").c_str());
    return 0;
}

} // namespace tailor::cli
