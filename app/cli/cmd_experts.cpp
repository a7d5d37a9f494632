// tailor-cli experts MODEL --calib FILE [--keep N] [--criterion freq|reap] [--windows N] [--seq-len L]
//                    [--text FILE] [--out PLAN.json] [--json]
// Routing statistics of a mixture of experts (core/analysis/expert_routing.h):
// per block and expert, how often the router chooses it on the calibration
// text, its mean router weight and REAP's router-weighted output size; experts
// no token chose are listed. With --keep N, each block keeps its N best
// experts by the criterion (core/compress/expert_prune.h); --text measures the
// PPL before and after, and --out writes a plan whose "experts" stage
// `compress` applies (right after dropping blocks).
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/analysis/expert_routing.h"
#include "core/compress/compression_plan.h"
#include "core/compress/expert_prune.h"
#include "core/eval/perplexity.h"
#include "core/model/model_session.h"
#include "core/util/error.h"

#include <QFileInfo>
#include <QJsonArray>
#include <cstdio>

namespace tailor::cli {

int cmdExperts(const Argv& argv)
{
    const Args args(argv, commandSpec("experts"));
    const std::string dir = args.positional(0, "MODEL");
    const auto session = ModelSession::open(dir);
    const ModelSummary& c = session->summary();
    if (c.n_expert == 0)
        throw Error(dir + ": a " + c.model_type + " model has no experts (experts needs a mixture such as qwen3_moe or mixtral)");
    const ExpertCriterion criterion = expertCriterionFromName(args.get("criterion", "freq"));
    const int64_t keep = args.getInt("keep", 0);
    if (args.has("keep") && (keep < c.n_expert_used || keep > c.n_expert))
        throw UsageError("--keep " + std::to_string(keep) + ": this model has " + std::to_string(c.n_expert) +
                         " experts a block and each token uses " + std::to_string(c.n_expert_used) + ", so keep " +
                         std::to_string(c.n_expert_used) + " to " + std::to_string(c.n_expert));
    if (args.has("out") && !args.has("keep"))
        throw UsageError("--out writes a pruning plan: give --keep N too");
    CalibOptions co;
    co.windows = args.getInt("windows", 8);
    co.seq_len = args.getInt("seq-len", 128);
    const std::string calibPath = args.require("calib");
    const TokenWindows calib = session->calibration(calibPath, co);
    const bool quiet = args.flag("json");
    const ExpertRouting routing = measureRouting(session->model(), calib, progressPrinter(quiet));
    QJsonObject out = routing.toJson();
    out["model"] = QString::fromStdString(dir);
    out["criterion"] = expertCriterionName(criterion);
    std::vector<std::vector<int>> kept;
    if (keep > 0) {
        kept = expertsToKeep(routing, keep, criterion);
        out["keep"] = intListsJson(kept);
        const auto pruned = pruneExperts(session->model(), kept);
        out["parameters_dense"] = double(c.parameters);
        out["parameters_pruned"] = double(parametersAfterExperts(session->model(), keep));
        if (args.has("text")) {
            const std::vector<int32_t> ids = session->tokenizeFile(args.get("text"));
            EvalOptions eo;
            eo.text_label = args.get("text");
            out["ppl_dense"] = evaluatePerplexity(session->model(), ids, eo, progressPrinter(quiet)).ppl;
            out["ppl_pruned"] = evaluatePerplexity(*pruned, ids, eo, progressPrinter(quiet)).ppl;
        }
        if (args.has("out")) {
            CompressionPlan p;
            p.model = QFileInfo(QString::fromStdString(dir)).absoluteFilePath().toStdString();
            p.calib = QFileInfo(QString::fromStdString(calibPath)).absoluteFilePath().toStdString();
            p.experts = PlanExperts{kept, 0, expertCriterionName(criterion)};
            p.save(args.get("out"));
            out["plan"] = QString::fromStdString(args.get("out"));
        }
    }
    if (quiet) {
        printJson(out);
        return 0;
    }
    std::printf("routing of %lld calibration tokens: %lld experts a block, %lld a token\n", (long long)routing.tokens,
                (long long)routing.experts, (long long)routing.used);
    for (int b = 0; b < int(routing.blocks); ++b) {
        std::printf("block %d  share:", b);
        for (int e = 0; e < int(routing.experts); ++e)
            std::printf(" %5.3f", routing.frequency(b, e));
        const auto never = routing.neverChosen(b);
        if (!never.empty()) {
            std::printf("  never chosen:");
            for (int e : never)
                std::printf(" %d", e);
        }
        if (!kept.empty()) {
            std::printf("  keeps:");
            for (int e : kept[std::size_t(b)])
                std::printf(" %d", e);
        }
        std::printf("\n");
    }
    if (keep > 0)
        std::printf("%s keeps %lld of %lld experts a block: parameters %lld -> %lld\n", expertCriterionName(criterion), (long long)keep,
                    (long long)c.n_expert, (long long)out["parameters_dense"].toDouble(), (long long)out["parameters_pruned"].toDouble());
    if (out.contains("ppl_dense"))
        std::printf("PPL %.4f -> %.4f\n", out["ppl_dense"].toDouble(), out["ppl_pruned"].toDouble());
    if (args.has("out"))
        std::printf("plan written to %s\n", args.get("out").c_str());
    return 0;
}

} // namespace tailor::cli
