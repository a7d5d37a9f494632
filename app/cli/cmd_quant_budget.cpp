// tailor-cli quant MODEL --calib FILE (--target-bpw B | --target-size BYTES[K|M|G] | --target-size q4_k_m)
//                  [--imatrix FILE] [--schemes a,b,...] [--base-type q8_0] [--text FILE] [--seq-len L] [--windows N]
//                  [--eval-seq-len L] [--max-windows N] [--points N] [--probe reference|every] [--no-reference] [--out PLAN.json] [--force] [--json]
// A per-layer quantization type for a size budget (core/compress/budget_search.h):
// KLD sensitivity per layer and candidate on the calibration windows, the
// allocation of least predicted KLD, and the measured KLD of the chosen plan,
// of plans along the Pareto curve and of the uniform schemes (bit budgets) or
// llama-quantize's mixtures (file budgets) on --text (or the calibration
// windows). --target-size counts the whole GGUF file (K/M/G are 1024-based);
// a type name takes the size of llama-quantize's file of that type.
// --out writes a plan: GGUF types per tensor ("gguf" with one --tensor-type
// rule per layer, for compress --format gguf) when every chosen scheme is one
// of llama.cpp's, otherwise quant rules (compress applies them).
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "size_args.h"
#include "core/compress/compression_plan.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "core/analysis/imatrix.h"
#include "core/model/model_session.h"
#include "core/compress/budget_search.h"
#include "core/quant/quant_scheme.h"
#include "core/eval/result_json.h"

#include <QJsonArray>
#include <QFileInfo>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <regex>

namespace tailor::cli {

namespace {
QJsonObject planJson(const BudgetPlan& p)
{
    QJsonObject o{{"label", QString::fromStdString(p.label)},
                  {"bits_per_weight", p.bits_per_weight},
                  {"kld_mean", p.measured.kld_mean},
                  {"kld_median", p.measured.kld_median},
                  {"kld_p99", p.measured.kld_p99},
                  {"kld_max", p.measured.kld_max},
                  {"top1_agreement", p.measured.top1_agreement},
                  {"ppl", p.measured.ppl},
                  {"base_ppl", p.measured.base_ppl},
                  {"chosen", p.chosen},
                  {"reference", p.reference}};
    if (p.file_bytes)
        o["file_bytes"] = double(p.file_bytes);
    if (p.predicted_kld >= 0)
        o["predicted_kld"] = p.predicted_kld;
    return o;
}

bool allGgml(const SchemeByTensor& scheme)
{
    for (const auto& [n, s] : scheme)
        if (s.format != QuantFormat::Ggml)
            return false;
    return true;
}
} // namespace

int cmdQuantBudget(const Argv& argv)
{
    const Args args(argv, commandSpec("quant", 1));
    if (args.has("target-bpw") == args.has("target-size"))
        throw UsageError("give one of --target-bpw BITS and --target-size BYTES");
    const std::string dir = args.positional(0, "MODEL");
    setComputeThreads(int(args.getInt("threads", 0)));
    const auto session = ModelSession::open(dir);
    const Model& model = session->model();
    if (args.has("out") && QFileInfo::exists(QString::fromStdString(args.get("out"))) && !args.flag("force"))
        throw UsageError(args.get("out") + ": exists; pass --force to replace it");
    BudgetOptions opt;
    Imatrix imatrix;
    if (args.has("imatrix")) {
        imatrix = readImatrix(args.get("imatrix"));
        opt.imatrix = &imatrix;
    }
    opt.base_type = gguf::mixture(args.get("base-type", "q8_0")).name;
    for (const std::string& item : args.getList("schemes"))
        if (!item.empty())
            opt.schemes.push_back(item);
    opt.frontier_points = int(args.getInt("points", 7));
    opt.int8_products = args.flag("int8");
    opt.reference = !args.flag("no-reference");
    const std::string probe = args.get("probe", "reference");
    if (probe != "every" && probe != "reference")
        throw UsageError("--probe must be every or reference");
    opt.probe = probe == "every" ? BudgetOptions::Probe::Every : BudgetOptions::Probe::Reference;
    std::string sizeOf; // the llama-quantize type whose file size is the target
    if (args.has("target-bpw")) {
        opt.target = BudgetTarget::LinearBitsPerWeight;
        opt.value = args.getDouble("target-bpw", 0);
    } else {
        opt.target = BudgetTarget::GgufFileBytes;
        opt.value = targetFileBytes(args.get("target-size"), model, opt.imatrix, "--target-size", &sizeOf);
    }
    CalibOptions co;
    co.windows = args.getInt("windows", 10);
    co.seq_len = args.getInt("seq-len", 128);
    const TokenWindows calib = session->calibration(args.require("calib"), co);
    TokenWindows eval;
    if (args.has("text"))
        eval = cutWindows(session->tokenizeFile(args.get("text")), args.getInt("eval-seq-len", 256), args.getInt("max-windows", 0),
                          args.get("text"));
    const auto progress = progressPrinter(false);
    const BudgetResult r = searchBudget(model, calib, eval, opt, progress);

    QJsonObject out{{"target", opt.target == BudgetTarget::GgufFileBytes ? "file_bytes" : "bits_per_weight"},
                    {"value", r.value},
                    {"min_value", r.min_value},
                    {"max_value", r.max_value},
                    {"base_calib_ppl", r.base_calib_ppl},
                    {"int8_products", opt.int8_products}};
    if (!sizeOf.empty())
        out["size_of"] = QString::fromStdString(sizeOf);
    QJsonObject chosen = planJson(r.chosen), schemes;
    for (const auto& [n, s] : r.chosen.scheme)
        schemes[QString::fromStdString(n)] = QString::fromStdString(s.name());
    chosen["schemes"] = schemes;
    out["chosen"] = chosen;
    QJsonArray frontier, refs, sens, warnings;
    for (const auto& p : r.frontier)
        frontier.append(planJson(p));
    for (const auto& p : r.references)
        refs.append(planJson(p));
    for (const auto& t : r.tensors) {
        QJsonArray options;
        for (const auto& s : t.schemes)
            options.append(QJsonObject{{"scheme", QString::fromStdString(s.scheme.name())}, {"bytes", s.bytes},
                                       {"output_rel_err", s.output_rel_err}, {"kld", s.kld}, {"measured", s.measured}});
        sens.append(QJsonObject{{"name", QString::fromStdString(t.name)}, {"gguf_name", QString::fromStdString(t.gguf_name)},
                                {"kind", QString::fromStdString(t.kind)}, {"block", t.block}, {"params", double(t.params)},
                                {"schemes", options}});
    }
    for (const auto& w : r.warnings)
        warnings.append(QString::fromStdString(w));
    out["frontier"] = frontier;
    out["references"] = refs;
    out["sensitivity"] = sens;
    out["warnings"] = warnings;

    if (args.has("out")) {
        CompressionPlan plan;
        plan.model = dir;
        if (allGgml(r.chosen.scheme)) {
            PlanGguf g;
            g.type = opt.base_type;
            g.imatrix = args.get("imatrix");
            g.tensor_types = ggufTensorTypes(model, r.chosen.scheme);
            plan.gguf = g;
        } else {
            PlanQuant q;
            q.imatrix = args.get("imatrix");
            for (const auto& [n, s] : r.chosen.scheme)
                q.rules.push_back({"^" + std::regex_replace(n, std::regex("\\."), "\\.") + "$", s});
            plan.quant = q;
        }
        plan.save(args.get("out"));
        out["plan"] = QString::fromStdString(args.get("out"));
        out["plan_format"] = plan.gguf ? "gguf" : "quant";
    }
    if (args.flag("json")) {
        printJson(out);
        return 0;
    }
    const bool file = opt.target == BudgetTarget::GgufFileBytes;
    std::printf("target %s%s (achievable %.4g to %.4g)\n", file ? QString::number(r.value, 'f', 0).toStdString().c_str()
                                                                : QString::number(r.value).toStdString().c_str(),
                file ? " bytes" : " bits per linear weight", r.min_value, r.max_value);
    std::printf("%-12s %10s %12s %12s %12s %10s %8s %10s\n", "plan", "bits/w", "file bytes", "pred. KLD", "KLD mean", "KLD p99",
                "top-1", "PPL");
    auto row = [](const BudgetPlan& p) {
        std::printf("%-12s %10.4f %12.0f %12.6f %12.6f %10.5f %7.2f%% %10.4f%s\n", p.label.c_str(), p.bits_per_weight,
                    double(p.file_bytes), p.predicted_kld, p.measured.kld_mean, p.measured.kld_p99, 100 * p.measured.top1_agreement,
                    p.measured.ppl, p.chosen ? "  <- chosen" : "");
    };
    row(r.chosen);
    for (const auto& p : r.frontier)
        row(p);
    for (const auto& p : r.references)
        row(p);
    for (const auto& w : r.warnings)
        std::printf("warning: %s\n", w.c_str());
    if (args.has("out"))
        std::printf("plan written to %s\n", args.get("out").c_str());
    return 0;
}

} // namespace tailor::cli
