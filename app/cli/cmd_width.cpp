// tailor-cli width MODEL_DIR [--calib FILE] [--criterion taylor|activation|magnitude] --heads K --mlp M [--uniform|--non-uniform]
//                  [--windows N] [--seq-len L] [--text FILE] [--out PLAN.json] [--json]
// Width pruning (core/compress/width_prune.h): scores every KV group and MLP channel of every block, removes the
// K heads (a multiple of the heads per KV group) and M channels with the lowest scores from each block (uniform:
// every loader runs the result), lists per block the removed and kept units with their scores, and with --text
// the PPL before and after. --out writes a plan whose "width" stage `compress` applies (before low rank).
// --non-uniform removes as many units in all, the lowest-scoring across blocks (each block keeps one of each):
// Tailor runs it and exports it as GGUF (llama.cpp's deci architecture), not as an HF folder.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/compress/compression_plan.h"
#include "core/compress/width_prune.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"

#include <QFileInfo>
#include <QJsonArray>
#include <algorithm>
#include <cstdio>

namespace tailor::cli {

int cmdWidth(const Argv& argv)
{
    const Args args(argv, commandSpec("width"));
    const std::string dir = args.positional(0, "MODEL");
    const auto session = ModelSession::open(dir);
    const WidthCriterion criterion = widthCriterionFromName(args.get("criterion", "taylor"));
    if (!args.has("heads") && !args.has("mlp"))
        throw UsageError("width needs --heads K and/or --mlp M (units removed from every block)");
    TokenWindows calib;
    if (criterion != WidthCriterion::Magnitude) {
        CalibOptions co;
        co.windows = args.getInt("windows", 8);
        co.seq_len = args.getInt("seq-len", 128);
        calib = session->calibration(args.require("calib"), co);
    }
    const bool quiet = args.flag("json");
    const WidthScores scores = scoreWidth(session->model(), calib, criterion, progressPrinter(quiet));
    if (args.flag("uniform") && args.flag("non-uniform"))
        throw UsageError("--uniform and --non-uniform: choose one");
    const bool ranked = args.flag("non-uniform");
    const WidthPlan plan = ranked ? rankedWidthPlan(session->model(), scores, args.getInt("heads", 0), args.getInt("mlp", 0))
                                  : uniformWidthPlan(session->model(), scores, args.getInt("heads", 0), args.getInt("mlp", 0));
    const ModelSummary& s = session->summary();
    QJsonArray layers;
    for (std::size_t b = 0; b < plan.groups.size(); ++b) {
        QJsonArray groups, channels, removedChannels;
        for (std::size_t k = 0; k < scores.groups[b].size(); ++k) {
            const bool removed = std::count(plan.groups[b].begin(), plan.groups[b].end(), int(k)) > 0;
            QJsonArray heads;
            for (int64_t h = 0; h < scores.heads_per_group; ++h)
                heads.append(double(int64_t(k) * scores.heads_per_group + h));
            groups.append(QJsonObject{{"kv_head", double(k)}, {"heads", heads}, {"score", scores.groups[b][k]}, {"removed", removed}});
        }
        for (double v : scores.channels[b])
            channels.append(v);
        for (int c : plan.channels[b])
            removedChannels.append(c);
        layers.append(QJsonObject{{"block", double(b)},
                                  {"groups", groups},
                                  {"channel_scores", channels},
                                  {"removed_channels", removedChannels},
                                  {"heads_removed", double(int64_t(plan.groups[b].size()) * scores.heads_per_group)},
                                  {"channels_removed", double(plan.channels[b].size())}});
    }
    QJsonObject out{{"model", QString::fromStdString(dir)},
                    {"criterion", widthCriterionName(criterion)},
                    {"heads_per_kv_group", double(scores.heads_per_group)},
                    {"uniform", plan.uniform()},
                    {"heads_removed_per_block", double(args.getInt("heads", 0))},
                    {"channels_removed_per_block", double(args.getInt("mlp", 0))},
                    {"heads_after", double(s.n_head - args.getInt("heads", 0))},
                    {"intermediate_after", double(s.intermediate_size - args.getInt("mlp", 0))},
                    {"parameters_dense", double(s.parameters)},
                    {"parameters_pruned", double(parametersAfterWidth(session->model(), plan))},
                    {"layers", layers}};
    if (args.has("text")) {
        const std::vector<int32_t> ids = session->tokenizeFile(args.get("text"));
        EvalOptions eo;
        eo.text_label = args.get("text");
        out["ppl_dense"] = evaluatePerplexity(session->model(), ids, eo, progressPrinter(quiet)).ppl;
        out["ppl_pruned"] = evaluatePerplexity(*applyWidthPlan(session->model(), plan), ids, eo, progressPrinter(quiet)).ppl;
    }
    if (args.has("out")) {
        CompressionPlan p;
        p.model = QFileInfo(QString::fromStdString(dir)).absoluteFilePath().toStdString();
        p.width = plan;
        p.width_criterion = widthCriterionName(criterion);
        p.save(args.get("out"));
        out["plan"] = QString::fromStdString(args.get("out"));
    }
    if (quiet) {
        printJson(out);
        return 0;
    }
    std::printf("%s width pruning: %lld heads (of %lld) and %lld MLP channels (of %lld) removed %s; parameters %lld -> %lld\n",
                widthCriterionName(criterion), (long long)args.getInt("heads", 0), (long long)s.n_head, (long long)args.getInt("mlp", 0),
                (long long)s.intermediate_size, ranked ? "per block on average, as the scores rank them" : "from each block",
                (long long)s.parameters, (long long)out["parameters_pruned"].toDouble());
    if (out.contains("ppl_dense"))
        std::printf("PPL %.4f -> %.4f\n", out["ppl_dense"].toDouble(), out["ppl_pruned"].toDouble());
    for (std::size_t b = 0; b < plan.groups.size(); ++b) {
        std::printf("block %zu: removed KV groups", b);
        for (int g : plan.groups[b])
            std::printf(" %d", g);
        std::printf("; %zu channels\n", plan.channels[b].size());
    }
    if (ranked && !plan.uniform())
        std::printf("the blocks now differ in width: export as GGUF (llama.cpp's deci architecture); an HF config.json holds one width\n");
    if (args.has("out"))
        std::printf("plan written to %s\n", args.get("out").c_str());
    return 0;
}

} // namespace tailor::cli
