#include "apply_plan.h"
#include "core/analysis/expert_routing.h"
#include "core/compress/expert_prune.h"
#include "core/eval/fidelity.h"
#include "core/eval/mc_tasks.h"
#include "core/eval/result_json.h"
#include "core/model/llama_forward.h"

#include <limits>
#include <map>
#include "core/model/arch_table.h"
#include "core/util/error.h"
#include "core/lowrank/factorize.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/analysis/imatrix.h"
#include "core/eval/perplexity.h"
#include "core/quant/quant_report.h"

#include <algorithm>
#include <cmath>

namespace tailor {

QJsonObject stageReportJson(const StageReport& s)
{
    QJsonObject o{{"stage", QString::fromStdString(s.stage)}, {"ppl", jsonNumber(s.ppl)}, {"kld_mean", jsonNumber(s.kld_mean)},
                  {"kld_p99", jsonNumber(s.kld_p99)}, {"top1_agreement", jsonNumber(s.top1_agreement)},
                  {"parameters", double(s.parameters)}, {"size_bytes", s.size_bytes}};
    if (std::isfinite(s.task_acc)) {
        o["task_acc"] = s.task_acc;
        o["task_acc_stderr"] = s.task_acc_stderr;
        o["task_acc_norm"] = s.task_acc_norm;
    }
    return o;
}

AppliedPlan applyPlan(const ModelSession& session, const CompressionPlan& plan, const std::string& evalText,
                      const ProgressFn& progress, const std::function<void(const HealStep&)>& onHealStep, const std::string& taskFile)
{
    const Model& dense = session.model();
    plan.validate(dense);
    const ModelConfig& c = dense.config();
    std::vector<int32_t> evalIds;
    if (!evalText.empty())
        evalIds = session.tokenizeFile(evalText);
    TokenWindows calib;
    if (!plan.calib.empty())
        calib = session.calibration(plan.calib);
    const std::vector<McItem> task = taskFile.empty() ? std::vector<McItem>{} : readTaskFile(taskFile);
    TokenWindows healWindows; // read before any work: a text too short fails at once
    if (plan.heal && plan.heal->isLinear())
        healWindows = linearHealWindows(session, plan.heal->text, plan.heal->linear);
    else if (plan.heal)
        healWindows = cutWindows(session.tokenizeFile(plan.heal->text), plan.heal->options.seq_len, 0, plan.heal->text + " (healing text)");
    const int stages = 2 + int(plan.experts.has_value()) + int(plan.width.has_value()) + int(!plan.ranks.empty()) + int(plan.heal.has_value()) + int(plan.quant.has_value());
    int stage = 0;
    auto sub = [&](const std::string& name) {
        return [&, name](const Progress& p) {
            return !progress || progress({(stage + p.fraction) / stages, name + ": " + p.stage});
        };
    };
    AppliedPlan out;
    out.model = dense.derive();
    out.drop_blocks = plan.drop_blocks;
    int64_t params = c.totalParameters();
    double quantSaved = 0; // bytes the quantized layers save against 16 bits
    auto record = [&](const std::string& name) {
        StageReport r{name, 0, 0, 0, 1, params, double(params) * 2.0 - quantSaved};
        if (!evalIds.empty() && name == "dense") {
            EvalOptions eo;
            eo.seq_len = 256;
            r.ppl = evaluatePerplexity(*out.model, evalIds, eo, sub(name)).ppl;
        } else if (!evalIds.empty()) {
            // one pass through both models gives this stage's perplexity and its drift
            FidelityOptions fo;
            fo.model_drop = out.drop_blocks;
            const FidelityResult f = compareToBase(dense, *out.model, cutWindows(evalIds, 256, 0, evalText), fo, sub(name));
            r.ppl = f.ppl;
            r.kld_mean = f.kld_mean;
            r.kld_p99 = f.kld_p99;
            r.top1_agreement = f.top1_agreement;
        } else
            r.kld_mean = r.kld_p99 = r.top1_agreement = std::numeric_limits<double>::quiet_NaN();
        if (!task.empty()) {
            McOptions mo;
            mo.drop_blocks = out.drop_blocks;
            const McResult t = evaluateTask(*out.model, session.tokenizer(), task, mo, taskFile);
            r.task_acc = t.acc, r.task_acc_stderr = t.acc_stderr, r.task_acc_norm = t.acc_norm;
        }
        out.stages.push_back(r);
        ++stage;
    };
    out.drop_blocks.clear();
    record("dense");
    out.drop_blocks = plan.drop_blocks;
    params -= int64_t(plan.drop_blocks.size()) * c.blockParameters();
    record("drop");
    if (plan.heal && plan.heal->isLinear()) {
        // depth healing right after the drop: the maps stand in for the
        // dropped spans, and later stages (width, low rank, quantization) act
        // on the healed weights as on any others
        const LinearHealResult h = healLinear(dense, *out.model, out.drop_blocks, healWindows, plan.heal->linear, sub("heal"));
        out.model = h.model;
        // each map's layer with the error of the hidden state it leaves after the span (‖h − L‖/‖L‖)
        for (const auto& s : h.spans)
            out.layer_errors.push_back({"heal", hfTensorName(TensorRole::FfnDown, s.host), s.rel_err_after});
        record("heal");
    }
    if (plan.experts) {
        // chosen on the calibration text now when the plan gives a count
        std::vector<std::vector<int>> keep = plan.experts->keep;
        if (keep.empty()) {
            const ExpertRouting routing = measureRouting(dense, calib, sub("experts"));
            keep = expertsToKeep(routing, plan.experts->keep_count, expertCriterionFromName(plan.experts->criterion));
        }
        const int64_t before = out.model->config().blockParameters();
        out.model = pruneExperts(*out.model, keep);
        // the kept blocks lose the removed experts (dropped ones are already counted out)
        params -= (before - out.model->config().blockParameters()) * (c.n_layer - int64_t(plan.drop_blocks.size()));
        record("experts");
    }
    if (plan.width) {
        out.model = applyWidthPlan(*out.model, *plan.width);
        // each kept block loses its own units (per-block counts may differ)
        const ModelConfig& narrow = out.model->config();
        for (int b = 0; b < int(c.n_layer); ++b)
            if (std::find(plan.drop_blocks.begin(), plan.drop_blocks.end(), b) == plan.drop_blocks.end())
                params -= c.blockParameters(b) - narrow.blockParameters(b);
        record("width");
    }
    if (!plan.ranks.empty()) {
        if (calib.count == 0) { // plain SVD needs no activations, but its output error is measured on them
            if (evalIds.empty())
                throw Error("low rank needs 'calib' in the plan or an evaluation text");
            calib = calibrationWindows(evalIds, CalibOptions{}, "evaluation text");
        }
        // layers of dropped blocks are gone: factorizing them would count their parameters twice
        std::map<std::string, int64_t> ranks;
        int ignored = 0;
        for (const auto& [name, k] : plan.ranks) {
            const int b = blockIndexOfTensor(name);
            if (std::find(plan.drop_blocks.begin(), plan.drop_blocks.end(), b) != plan.drop_blocks.end())
                ++ignored;
            else
                ranks[name] = k;
        }
        if (ignored > 0)
            out.warnings.push_back(std::to_string(ignored) + " ranks name layers of dropped blocks; ignored");
        LowRankResult lr = factorizeModel(*out.model, calib, ranks, plan.whiten, sub("lowrank"), out.drop_blocks);
        // the export writes merged (dense) matrices: parameters count the factorized form
        params -= lr.params_before - lr.params_after;
        out.model = lr.model;
        for (const auto& l : lr.layers)
            out.layer_errors.push_back({"lowrank", l.name, l.output_rel_err});
        out.warnings.insert(out.warnings.end(), lr.warnings.begin(), lr.warnings.end());
        record("lowrank");
    }
    if (plan.heal && !plan.heal->isLinear()) {
        // the original model is the teacher. Cancelling during healing keeps the
        // adapters of the last finished step: the plan returns there, with the
        // healed model and no later stage, so the caller can still use it.
        HealResult h = healWithLora(*out.model, out.drop_blocks, &dense, healWindows, plan.heal->options, sub("heal"), onHealStep);
        out.model = h.model;
        out.heal_curve = h.curve;
        out.warnings.insert(out.warnings.end(), h.warnings.begin(), h.warnings.end());
        if (h.cancelled) {
            out.heal_cancelled = true;
            out.warnings.push_back("healing cancelled after " + std::to_string(h.steps_done) +
                                   " steps: the adapters of the last step are merged; later stages were not run");
            out.stages.push_back(StageReport{"heal", std::nan(""), std::nan(""), std::nan(""), std::nan(""), params, double(params) * 2.0});
            return out;
        }
        record("heal");
    }
    if (plan.quant) {
        QuantOptions qo;
        qo.method = plan.quant->method;
        qo.act_order = plan.quant->act_order;
        if (plan.quant->rules.empty()) {
            qo.scheme = plan.quant->scheme;
            qo.layers_regex = plan.quant->layers;
        } else
            for (const auto& r : plan.quant->rules)
                qo.rules.push_back({r.layers, r.scheme, qo.method});
        Imatrix importance;
        if (!plan.quant->imatrix.empty()) {
            importance = readImatrix(plan.quant->imatrix);
            qo.imatrix = &importance;
        }
        qo.skip_blocks = out.drop_blocks;
        // what each linear layer stores now: a low-rank layer its two factors
        std::map<std::string, int64_t> stored;
        for (int b = 0; b < dense.nBlocks(); ++b)
            for (TensorRole role : linearRoles()) {
                const std::string n = hfTensorName(role, b);
                const auto [fb, fa] = out.model->factors(n);
                stored[n] = fb.defined() ? fb.numel() + fa.numel() : out.model->raw(n).numel();
            }
        QuantReport q = quantizeModel(*out.model, calib.count ? &calib : nullptr, qo, sub("quant"));
        out.model = q.model;
        out.quant_bits_per_weight = q.bits_per_weight;
        // a quantized layer is stored as the whole quantized matrix (its factors are
        // multiplied back first), in place of what it stored at 16 bits
        quantSaved = 0;
        for (const auto& l : q.layers)
            if (l.quantized) {
                const int64_t numel = l.shape[0] * l.shape[1];
                const double bpw = double(q.quantized_parameters) > 0 ? q.bits_per_weight : 16.0;
                quantSaved += double(stored[l.name]) * 2.0 - double(numel) * bpw / 8.0;
            }
        for (const auto& l : q.layers)
            out.layer_errors.push_back({"quant", l.name, l.output_rel_err});
        out.warnings.insert(out.warnings.end(), q.warnings.begin(), q.warnings.end());
        record("quant");
    }
    return out;
}

} // namespace tailor
