// tailor-cli quant MODEL --calib FILE [--method rtn|gptq [--act-order]] [--bits 4 --group 32|channel|tensor (--sym|--asym) [--clip mse]
//                  | --scheme q8_0|q4_0|int4_sym_g32 | --mixed PLAN.json] [--layers REGEX] [--embeddings SCHEME] [--lm-head SCHEME]
//                  [--acts B [--acts-range minmax|percentile|dynamic] [--acts-percentile P]] [--sensitivity]
//                  [--text FILE] [--seq-len L] [--json]
// Per-layer report and the calibration perplexity of the fake-quantized model (weights, and with
// --acts the linear layers' inputs too); --sensitivity adds each layer's PPL when quantized alone.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "scheme_args.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "core/quant/act_quant.h"
#include "core/quant/quant_report.h"
#include "core/util/error.h"
#include "core/eval/result_json.h"

#include <QJsonArray>
#include <cmath>
#include <cstdio>

namespace tailor::cli {


int cmdQuant(const Argv& argv)
{
    for (const auto& a : argv)
        if (a == "--target-bpw" || a == "--target-size")
            return cmdQuantBudget(argv); // a per-layer allocation for a size budget
    const Args args(argv, commandSpec("quant", 0));
    const auto session = ModelSession::open(args.positional(0, "MODEL"));
    QuantOptions qo;
    qo.scheme = schemeFromArgs(args);
    qo.layers_regex = args.get("layers");
    try {
        qo.method = quantMethodFromName(args.get("method", "rtn"));
    } catch (const Error& e) {
        throw UsageError(std::string("--") + e.what());
    }
    qo.act_order = args.flag("act-order");
    if (args.has("mixed")) {
        if (args.has("scheme") || args.has("bits") || args.has("layers") || args.has("method"))
            throw UsageError("--mixed takes the schemes from the plan: drop --scheme, --bits, --layers and --method");
        readMixedPlan(args.get("mixed"), qo);
    }
    if (args.has("embeddings"))
        qo.embeddings = QuantScheme::parse(args.get("embeddings"));
    if (args.has("lm-head"))
        qo.lm_head = QuantScheme::parse(args.get("lm-head"));
    qo.sensitivity = args.flag("sensitivity");
    qo.threads = int(args.getInt("threads", 0));
    CalibOptions co;
    co.windows = args.getInt("windows", 10);
    co.seq_len = args.getInt("seq-len", 128);
    const std::string calibPath = args.require("calib");
    const TokenWindows calib = session->calibration(calibPath, co);
    const auto progress = progressPrinter(false);
    const QuantReport rep = quantizeModel(session->model(), &calib, qo, progress);
    EvalOptions eo;
    eo.seq_len = co.seq_len;
    eo.threads = qo.threads;
    const EvalResult dense = evaluateWindows(session->model(), calib, eo);
    const EvalResult quant = evaluateWindows(*rep.model, calib, eo, progress);
    QJsonObject out{{"scheme", QString::fromStdString(rep.scheme)},
                    {"bits_per_weight", rep.bits_per_weight},
                    {"linear_bits_per_weight", rep.linear_bits_per_weight},
                    {"quantized_parameters", double(rep.quantized_parameters)},
                    {"ppl", quant.ppl},
                    {"dense_ppl", dense.ppl}};
    if (args.has("text")) {
        EvalOptions ev;
        ev.seq_len = 256;
        ev.threads = qo.threads;
        const auto ids = session->tokenizeFile(args.get("text"));
        out["eval_ppl"] = evaluatePerplexity(*rep.model, ids, ev, progress).ppl;
        out["eval_dense_ppl"] = evaluatePerplexity(session->model(), ids, ev).ppl;
    }
    QJsonArray layers, warnings;
    for (const auto& l : rep.layers)
        layers.append(QJsonObject{{"name", QString::fromStdString(l.name)}, {"kind", QString::fromStdString(l.kind)},
                                  {"block", l.block}, {"mse", jsonNumber(l.mse)}, {"max_abs_err", jsonNumber(l.max_abs_err)},
                                  {"sqnr_db", jsonNumber(l.sqnr_db)}, {"kurtosis", jsonNumber(l.kurtosis)},
                                  {"outliers_3sigma", jsonNumber(l.outliers_3sigma)}, {"outliers_6sigma", jsonNumber(l.outliers_6sigma)},
                                  {"output_rel_err", jsonNumber(l.output_rel_err)}, {"nonfinite", double(l.nonfinite)},
                                  {"quantized", l.quantized}, {"scheme", QString::fromStdString(l.scheme)},
                                  {"sensitivity_ppl", jsonNumber(l.sensitivity_ppl)}});
    for (const auto& w : rep.warnings)
        warnings.append(QString::fromStdString(w));
    out["layers"] = layers;
    out["warnings"] = warnings;
    if (args.has("acts")) {
        ActQuantOptions ao;
        ao.bits = int(args.getInt("acts", 8));
        const std::string range = args.get("acts-range", "minmax");
        if (range != "minmax" && range != "percentile" && range != "dynamic")
            throw UsageError("--acts-range must be minmax, percentile or dynamic");
        ao.range = range == "minmax" ? ActRange::MinMax : range == "percentile" ? ActRange::Percentile : ActRange::Dynamic;
        ao.percentile = args.getDouble("acts-percentile", 99.99);
        const ActRanges ranges = calibrateActRanges(*rep.model, calib, ao);
        QJsonObject acts{{"scheme", QString::fromStdString(ao.name())}, {"ppl", perplexityWithActQuant(*rep.model, calib, ao, ranges)}};
        QJsonObject clip;
        for (const auto& [n, v] : ranges)
            clip[QString::fromStdString(n)] = v;
        acts["clip"] = clip;
        if (args.has("text")) {
            EvalOptions ev;
            const TokenWindows evalWindows = cutWindows(session->tokenizeFile(args.get("text")), 256, 0, args.get("text"));
            acts["eval_ppl"] = perplexityWithActQuant(*rep.model, evalWindows, ao, ranges);
        }
        out["acts"] = acts;
    }
    if (args.flag("json")) {
        printJson(out);
        return 0;
    }
    std::printf("%s: %.3f bits/weight (%.3f over all linear layers); calibration PPL %.4f (dense %.4f)\n", rep.scheme.c_str(),
                rep.bits_per_weight, rep.linear_bits_per_weight, quant.ppl, dense.ppl);
    if (out.contains("acts"))
        std::printf("with activations %s: calibration PPL %.4f\n", out["acts"].toObject()["scheme"].toString().toStdString().c_str(),
                    out["acts"].toObject()["ppl"].toDouble());
    if (out.contains("eval_ppl"))
        std::printf("evaluation PPL (L=256) %.4f (dense %.4f)\n", out["eval_ppl"].toDouble(), out["eval_dense_ppl"].toDouble());
    std::printf("%-44s %-16s %11s %11s %8s %8s %7s %9s %9s\n", "layer", "scheme", "mse", "max_err", "sqnr_dB", "kurt", ">3sd",
                "out_err", "sens_ppl");
    for (const auto& l : rep.layers)
        std::printf("%-44s %-16s %11.4g %11.4g %8.2f %8.2f %6.2f%% %9.4f %9.4f\n", l.name.c_str(), l.scheme.c_str(), l.mse,
                    l.max_abs_err, l.sqnr_db, l.kurtosis, 100 * l.outliers_3sigma, l.output_rel_err, l.sensitivity_ppl);
    for (const auto& w : rep.warnings)
        std::printf("warning: %s\n", w.c_str());
    return 0;
}

} // namespace tailor::cli
