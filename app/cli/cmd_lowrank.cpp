// tailor-cli spectrum MODEL [--layers REGEX] [--top-k K [--power-iterations Q]] [--no-cache] [--json]
// tailor-cli lowrank MODEL --calib FILE (--energy 0.95 | --budget 0.8 | --ranks FILE.json) [--whiten]
//                   [--layers REGEX] [--text FILE] [--json]
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/util/error.h"
#include "core/lowrank/factorize.h"
#include "core/lowrank/spectrum.h"
#include "core/lowrank/spectrum_cache.h"
#include "core/eval/result_json.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <cstdio>

namespace tailor::cli {

namespace {
// The spectra the options ask for: cached on disk unless --no-cache.
std::vector<LayerSpectrum> spectraFor(const ModelSession& session, const Args& args)
{
    SpectrumOptions opt;
    opt.top_k = args.getInt("top-k", 0);
    opt.power_iterations = int(args.getInt("power-iterations", 2));
    const auto layers = linearLayers(session.model(), args.get("layers"));
    return args.flag("no-cache") ? computeSpectra(session.model(), layers, progressPrinter(false), opt)
                                 : cachedSpectra(session, layers, progressPrinter(false), opt);
}

QJsonValue rankJson(int64_t k) { return k > 0 ? QJsonValue(double(k)) : QJsonValue(); } // null: beyond the top k
} // namespace

int cmdSpectrum(const Argv& argv)
{
    const Args args(argv, commandSpec("spectrum"));
    const auto session = ModelSession::open(args.positional(0, "MODEL"));
    const auto spectra = spectraFor(*session, args);
    if (args.flag("json")) {
        QJsonArray layers;
        for (const auto& s : spectra) {
            QJsonArray sv;
            for (double v : s.singular_values)
                sv.append(v);
            QJsonObject o{{"name", QString::fromStdString(s.name)}, {"shape", QJsonArray{double(s.rows), double(s.cols)}},
                          {"singular_values", sv}, {"break_even_rank", double(s.break_even_rank)},
                          {"effective_rank", jsonNumber(s.effective_rank)}, {"rank_90", rankJson(s.rank90)},
                          {"rank_95", rankJson(s.rank95)}, {"rank_99", rankJson(s.rank99)},
                          {"total_energy", s.total_energy}, {"randomized", s.randomized}};
            if (s.randomized)
                o["residual"] = s.residual;
            layers.append(o);
        }
        printJson(QJsonObject{{"layers", layers}});
        return 0;
    }
    std::printf("%-44s %11s %9s %8s %8s %8s %9s\n", "layer", "shape", "eff.rank", "r90", "r95", "r99", "break-even");
    for (const auto& s : spectra) {
        std::printf("%-44s %5lldx%-5lld %9.1f %8lld %8lld %8lld %9lld", s.name.c_str(), (long long)s.rows, (long long)s.cols,
                    s.effective_rank, (long long)s.rank90, (long long)s.rank95, (long long)s.rank99, (long long)s.break_even_rank);
        if (s.randomized)
            std::printf("  (top %zu, randomized; residual %.2e; -1 = beyond)", s.singular_values.size(), s.residual);
        std::printf("\n");
    }
    return 0;
}

int cmdLowRank(const Argv& argv)
{
    const Args args(argv, commandSpec("lowrank"));
    const auto session = ModelSession::open(args.positional(0, "MODEL"));
    if (int(args.has("energy")) + int(args.has("budget")) + int(args.has("ranks")) != 1)
        throw UsageError("give exactly one of --energy E, --budget B, --ranks FILE");
    const auto progress = progressPrinter(false);
    std::map<std::string, int64_t> ranks;
    if (args.has("ranks")) {
        const std::string path = args.get("ranks");
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(readTextFile(path)));
        if (!doc.isObject())
            throw Error(path + ": expected a JSON object {\"tensor name\": rank}");
        const QJsonObject o = doc.object();
        for (auto it = o.begin(); it != o.end(); ++it) {
            if (!it.value().isDouble())
                throw Error(path + ": rank of '" + it.key().toStdString() + "' is not a number");
            ranks[it.key().toStdString()] = int64_t(it.value().toDouble());
        }
    } else {
        const auto spectra = spectraFor(*session, args);
        ranks = args.has("energy") ? ranksByEnergy(spectra, args.getDouble("energy", 0.95))
                                   : ranksByBudget(spectra, args.getDouble("budget", 0.8));
    }
    CalibOptions co;
    co.windows = args.getInt("windows", 10);
    co.seq_len = args.getInt("seq-len", 128);
    const std::string calibPath = args.require("calib");
    const TokenWindows calib = session->calibration(calibPath, co);
    const LowRankResult r = factorizeModel(session->model(), calib, ranks, args.flag("whiten"), progress);
    EvalOptions eo;
    eo.seq_len = co.seq_len;
    QJsonObject out{{"whiten", args.flag("whiten")},
                    {"params_before", double(r.params_before)},
                    {"params_after", double(r.params_after)},
                    {"calib_ppl", evaluateWindows(*r.model, calib, eo).ppl},
                    {"calib_dense_ppl", evaluateWindows(session->model(), calib, eo).ppl}};
    if (args.has("text")) {
        EvalOptions ev;
        ev.seq_len = 256;
        const auto ids = session->tokenizeFile(args.get("text"));
        out["ppl"] = evaluatePerplexity(*r.model, ids, ev, progress).ppl;
        out["dense_ppl"] = evaluatePerplexity(session->model(), ids, ev).ppl;
    }
    QJsonArray layers, warnings;
    for (const auto& l : r.layers)
        layers.append(QJsonObject{{"name", QString::fromStdString(l.name)}, {"rank", double(l.rank)},
                                  {"params_before", double(l.params_before)}, {"params_after", double(l.params_after)},
                                  {"output_rel_err", l.output_rel_err}});
    for (const auto& w : r.warnings)
        warnings.append(QString::fromStdString(w));
    out["layers"] = layers;
    out["warnings"] = warnings;
    if (args.flag("json"))
        printJson(out);
    else {
        std::printf("%s SVD: parameters of the factorized layers %lld -> %lld; calibration PPL %.4f (dense %.4f)\n",
                    args.flag("whiten") ? "whitened" : "plain", (long long)r.params_before, (long long)r.params_after,
                    out["calib_ppl"].toDouble(), out["calib_dense_ppl"].toDouble());
        if (out.contains("ppl"))
            std::printf("evaluation PPL (L=256) %.4f (dense %.4f)\n", out["ppl"].toDouble(), out["dense_ppl"].toDouble());
        for (const auto& w : r.warnings)
            std::printf("warning: %s\n", w.c_str());
    }
    return 0;
}

} // namespace tailor::cli
