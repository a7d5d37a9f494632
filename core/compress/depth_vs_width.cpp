#include "depth_vs_width.h"
#include "core/compress/markdown_number.h"
#include "width_prune.h"
#include "core/analysis/block_importance.h"
#include "core/util/error.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/result_json.h"

#include <QJsonArray>
#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>

namespace tailor {

WidthCounts widthCountsForBudget(const ModelConfig& c, double budget)
{
    const int64_t perGroup = c.n_head / std::max<int64_t>(1, c.n_head_kv);
    // q rows and o columns of the group's heads, its k and v rows
    const double groupParams = double((2 * perGroup + 2) * c.head_dim * c.hidden_size);
    const double target = budget * double(c.blockParameters());
    const int64_t groups = std::clamp<int64_t>(std::llround(budget * double(c.n_head_kv)), 0, c.n_head_kv - 1);
    const double rest = std::max(0.0, target - double(groups) * groupParams);
    WidthCounts w;
    w.heads = groups * perGroup;
    w.channels = std::clamp<int64_t>(std::llround(rest / double(3 * c.hidden_size)), 0, c.intermediate_size - 1);
    return w;
}

namespace {
std::string joined(const std::vector<int>& v)
{
    std::string s;
    for (int b : v)
        s += (s.empty() ? "" : ", ") + std::to_string(b);
    return s;
}

} // namespace

DepthWidthComparison compareDepthWidth(const ModelSession& session, const DepthWidthOptions& opt, const ProgressFn& progress)
{
    if (!(opt.budget > 0 && opt.budget < 1))
        throw Error("the budget must be a share of the block parameters between 0 and 1, not " + markdownNumber(opt.budget, 3));
    if (opt.calib.empty())
        throw Error("depth against width needs calibration text (block and unit scores)");
    const Model& model = session.model();
    const ModelConfig& c = model.config();
    const int N = model.nBlocks();
    const int k = int(std::llround(opt.budget * N));
    if (k < 1 || k >= N)
        throw Error("a budget of " + markdownNumber(100 * opt.budget, 1) + " % drops " + std::to_string(k) + " of " + std::to_string(N) +
                    " blocks: choose a budget that removes between one block and all but one");
    const WidthCounts wc = widthCountsForBudget(c, opt.budget);
    // shares of the run: scores 15 %, each arm 35 %, speeds 15 % (batch 1, then batch B when asked)
    double base = 0, span = 0;
    auto part = [&](double from, double width) {
        base = from, span = width;
        return [&progress, &base, &span](const Progress& p) { return !progress || progress({base + span * p.fraction, p.stage}); };
    };
    const TokenWindows calib = session.calibration(opt.calib);

    BlockScanOptions so;
    const Criterion crit = criterionFromName(opt.block_criterion);
    enableCriteria(so, {crit});
    so.excluded = taylorPlusExcluded(N);
    const BlockScanResult scan = scanBlocks(model, calib, so, part(0, 0.08));
    const std::vector<int> drop = suggestOneShot(scan, crit, k);
    const WidthScores scores = scoreWidth(model, calib, widthCriterionFromName(opt.unit_criterion), part(0.08, 0.07));
    const WidthPlan width = uniformWidthPlan(model, scores, wc.heads, wc.channels);

    DepthWidthComparison out;
    out.budget = opt.budget;
    out.warnings = scan.warnings;
    CompressionPlan depthPlan, widthPlan;
    depthPlan.model = widthPlan.model = session.dir();
    depthPlan.calib = widthPlan.calib = opt.calib;
    depthPlan.heal = widthPlan.heal = opt.heal;
    depthPlan.drop_blocks = drop;
    widthPlan.width = width;
    widthPlan.width_criterion = opt.unit_criterion;

    const double blockParams = double(c.blockParameters()) * N;
    DepthWidthArm dense, depth, wide;
    dense.name = "dense";
    dense.description = "the original model";
    depth.name = "depth";
    depth.description = std::to_string(k) + " blocks (" + joined(drop) + ") by " + criterionName(crit);
    depth.plan = depthPlan;
    depth.block_share_removed = double(k) * double(c.blockParameters()) / blockParams;
    const int64_t groups = wc.heads / std::max<int64_t>(1, scores.heads_per_group);
    wide.name = "width";
    wide.description = std::to_string(wc.heads) + " heads (" + std::to_string(groups) + (groups == 1 ? " KV group) and " : " KV groups) and ") +
                       std::to_string(wc.channels) + " MLP channels per block by " + opt.unit_criterion;
    wide.plan = widthPlan;
    const AppliedPlan a = applyPlan(session, depthPlan, opt.eval_text, part(0.15, 0.35), {}, opt.task);
    dense.result = a.stages.front();
    depth.result = a.stages.back();
    const AppliedPlan b = applyPlan(session, widthPlan, opt.eval_text, part(0.5, 0.35), {}, opt.task);
    wide.result = b.stages.back();
    wide.block_share_removed = 1.0 - double(parametersAfterWidth(model, width) - (c.totalParameters() - int64_t(blockParams))) / blockParams;

    DecodeSpeedOptions sp = opt.speed;
    BatchThroughputOptions bp = batchOptions(sp, opt.batch);
    const double share = opt.batch > 0 ? 0.025 : 0.05;
    int step = 0;
    using Run = std::tuple<DepthWidthArm*, const Model*, std::vector<int>>;
    for (auto [arm, m, drops] : {Run{&dense, &model, {}}, Run{&depth, a.model.get(), a.drop_blocks}, Run{&wide, b.model.get(), {}}}) {
        sp.drop_blocks = bp.drop_blocks = drops;
        arm->speed = measureDecodeSpeed(*m, sp, part(0.85 + share * step++, share));
        if (opt.batch > 0)
            arm->batch = measureBatchThroughput(*m, bp, part(0.85 + share * step++, share));
    }
    out.arms = {dense, depth, wide};
    return out;
}

QJsonObject DepthWidthComparison::toJson() const
{
    QJsonArray a;
    for (const auto& arm : arms) {
        QJsonObject o = stageReportJson(arm.result);
        o["arm"] = QString::fromStdString(arm.name);
        o["description"] = QString::fromStdString(arm.description);
        o["block_share_removed"] = arm.block_share_removed;
        o["prefill_tokens_per_s"] = arm.speed.prefill.median;
        o["decode_tokens_per_s"] = arm.speed.decode.median;
        o["decode_tokens_per_s_min"] = arm.speed.decode.min;
        o["decode_tokens_per_s_max"] = arm.speed.decode.max;
        o["weight_bytes_per_token"] = double(arm.speed.weight_bytes_per_token);
        o["kv_bytes_per_token"] = double(arm.speed.kv_bytes_per_token);
        if (arm.batch.batch > 0) {
            o["batch"] = double(arm.batch.batch);
            o["batch_decode_tokens_per_s"] = arm.batch.decode.median;
            o["batch_prefill_tokens_per_s"] = arm.batch.prefill.median;
        }
        if (!arm.plan.model.empty())
            o["plan"] = arm.plan.toJson();
        a.append(o);
    }
    return QJsonObject{{"budget", budget}, {"arms", a}};
}

std::string DepthWidthComparison::toMarkdown() const
{
    std::ostringstream md;
    md << "| arm | removed | block params removed | PPL | KLD from dense | top-1 agreement | task acc | parameters | "
          "decode tokens/s (min–max) | prefill tokens/s | batch-B prefill tokens/s (evaluation) | batch-B decode tokens/s |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (const auto& arm : arms)
        md << "| " << arm.name << " | " << arm.description << " | " << markdownNumber(100 * arm.block_share_removed, 1) << " % | "
           << markdownNumber(arm.result.ppl, 4) << " | " << markdownNumber(arm.result.kld_mean, 4) << " | " << markdownNumber(100 * arm.result.top1_agreement, 2)
           << " % | " << markdownNumber(arm.result.task_acc, 3) << " | " << arm.result.parameters << " | " << markdownNumber(arm.speed.decode.median, 1)
           << " (" << markdownNumber(arm.speed.decode.min, 1) << "–" << markdownNumber(arm.speed.decode.max, 1) << ") | " << markdownNumber(arm.speed.prefill.median, 0)
           << " | " << (arm.batch.batch > 0 ? markdownNumber(arm.batch.prefill.median, 0) + " (B = " + std::to_string(arm.batch.batch) + ")" : "–")
           << " | " << (arm.batch.batch > 0 ? markdownNumber(arm.batch.decode.median, 1) : "–")
           << " |\n";
    if (arms.size() == 3 && arms[0].speed.decode.median > 0)
        md << "\nDecode speed-up over dense: depth " << markdownNumber(arms[1].speed.decode.median / arms[0].speed.decode.median, 3) << "×, width "
           << markdownNumber(arms[2].speed.decode.median / arms[0].speed.decode.median, 3) << "×"
           << (arms[0].batch.decode.median > 0 ? "; at batch " + std::to_string(arms[0].batch.batch) + ": depth " +
                                                     markdownNumber(arms[1].batch.decode.median / arms[0].batch.decode.median, 3) + "×, width " +
                                                     markdownNumber(arms[2].batch.decode.median / arms[0].batch.decode.median, 3) + "×"
                                               : std::string())
           << "; KLD from dense: depth "
           << markdownNumber(arms[1].result.kld_mean, 4) << ", width " << markdownNumber(arms[2].result.kld_mean, 4) << ".\n";
    return md.str();
}

} // namespace tailor
