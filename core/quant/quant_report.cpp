#include <algorithm>
#include "quant_report.h"
#include "core/model/moe_forward.h"
#include "gptq.h"
#include "linear_quantizer.h"
#include "rtn_kernel.h"
#include "core/util/allocator_policy.h"
#include "core/model/arch_table.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/analysis/imatrix.h"
#include "core/model/llama_forward.h"
#include "core/util/json_file.h"
#include "core/model/memory_estimate.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"

#include <ATen/core/grad_mode.h>
#include "core/model/layer_selection.h"

#include <set>
#include <map>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <cmath>

namespace tailor {

QuantMethod quantMethodFromName(const std::string& name)
{
    if (name == "rtn")
        return QuantMethod::Rtn;
    if (name == "gptq")
        return QuantMethod::Gptq;
    throw Error("method '" + name + "' is not rtn or gptq");
}

const char* quantMethodName(QuantMethod m) { return m == QuantMethod::Gptq ? "gptq" : "rtn"; }


namespace {

void weightStats(const at::Tensor& w, const at::Tensor& deq, LayerQuantStats& s)
{
    const at::Tensor wd = w.to(at::kDouble);
    const at::Tensor err = deq.to(at::kDouble) - wd;
    s.mse = err.pow(2).mean().item<double>();
    s.max_abs_err = err.abs().max().item<double>();
    const double signal = wd.pow(2).sum().item<double>(), noise = err.pow(2).sum().item<double>();
    s.sqnr_db = noise > 0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
    const double mean = wd.mean().item<double>();
    const at::Tensor c = wd - mean;
    const double var = c.pow(2).mean().item<double>();
    s.kurtosis = var > 0 ? c.pow(4).mean().item<double>() / (var * var) : 0.0;
    const double sd = std::sqrt(var);
    s.outliers_3sigma = (c.abs() > 3 * sd).to(at::kDouble).mean().item<double>();
    s.outliers_6sigma = (c.abs() > 6 * sd).to(at::kDouble).mean().item<double>();
}

} // namespace

namespace {
// Expert e's slice of a stacked tensor's importance weights (e < 0: a dense layer's, whole).
std::vector<float> expertWeights(const std::vector<float>& w, int e, int64_t experts)
{
    if (e < 0 || w.empty())
        return w;
    const std::size_t cols = w.size() / std::size_t(experts);
    return std::vector<float>(w.begin() + std::ptrdiff_t(std::size_t(e) * cols), w.begin() + std::ptrdiff_t(std::size_t(e + 1) * cols));
}
} // namespace

namespace {
struct LayerChoice {
    QuantScheme scheme;
    QuantMethod method = QuantMethod::Rtn;
};

// Which scheme and method each linear layer gets: by rules (first match), or
// one scheme for the layers the regex selects.
std::map<std::string, LayerChoice> chooseLayers(const Model& model, const QuantOptions& opt, std::vector<std::string>& warnings)
{
    std::map<std::string, LayerChoice> out;
    if (opt.rules.empty()) {
        opt.scheme.validate();
        for (const auto& n : linearLayers(model, opt.layers_regex))
            out[n] = LayerChoice{opt.scheme, opt.method};
        return out;
    }
    const std::vector<std::string> all = linearLayers(model, "");
    std::vector<bool> used(opt.rules.size(), false);
    std::vector<QRegularExpression> res;
    for (std::size_t r = 0; r < opt.rules.size(); ++r) {
        QRegularExpression re(QString::fromStdString(opt.rules[r].layers));
        if (!re.isValid())
            throw Error("mixed-precision rule " + std::to_string(r + 1) + ": invalid regex '" + opt.rules[r].layers + "'");
        if (!opt.rules[r].keep)
            opt.rules[r].scheme.validate();
        res.push_back(re);
    }
    for (const auto& n : all)
        for (std::size_t r = 0; r < opt.rules.size(); ++r)
            if (res[r].match(QString::fromStdString(n)).hasMatch()) {
                used[r] = true;
                if (!opt.rules[r].keep)
                    out[n] = LayerChoice{opt.rules[r].scheme, opt.rules[r].method};
                break;
            }
    for (std::size_t r = 0; r < opt.rules.size(); ++r)
        if (!used[r])
            warnings.push_back("mixed-precision rule " + std::to_string(r + 1) + " ('" + opt.rules[r].layers +
                               "') decides no layer (none matches, or an earlier rule took them)");
    return out;
}

std::string choiceName(const LayerChoice& c) { return c.scheme.name() + (c.method == QuantMethod::Gptq ? "_gptq" : ""); }

double pplOf(double nll, const TokenWindows& w) { return std::exp(nll / double(w.predictedTokens())); }
} // namespace

QuantReport quantizeModel(const Model& model, const TokenWindows* calib, const QuantOptions& opt, const ProgressFn& progress)
{
    setComputeThreads(opt.threads);
    requireMemory(model.checkpoint().dir() + ": quantization report",
                  estimateMemory(model.config(), model.checkpoint().totalBytes(), MemoryJob::Quantize, calib ? calib->count * calib->seq_len : 0));
    at::NoGradGuard ng;
    const ModelConfig& cfg = model.config();
    QuantReport rep;
    const std::map<std::string, LayerChoice> chosen = chooseLayers(model, opt, rep.warnings);
    bool gptq = false;
    std::set<std::string> names;
    for (const auto& [n, c] : chosen)
        gptq = gptq || c.method == QuantMethod::Gptq, names.insert(choiceName(c));
    if (gptq && !calib)
        throw Error("GPTQ needs calibration text");
    if (opt.sensitivity && !calib)
        throw Error("sensitivity needs calibration text");
    if (opt.lm_head && cfg.tie_word_embeddings)
        throw Error("this model ties lm_head to the embedding table: quantize the embeddings instead");
    for (const auto& n : names)
        rep.scheme += (rep.scheme.empty() ? "" : "+") + n;
    if (chosen.empty())
        rep.scheme = "none";
    rep.model = model.derive();
    const auto skipped = [&](int b) { return std::find(opt.skip_blocks.begin(), opt.skip_blocks.end(), b) != opt.skip_blocks.end(); };

    // Calibration activations flow through the model block by block.
    at::Tensor h, ids;
    RopeTable rope;
    if (calib) {
        ids = at::from_blob(const_cast<int64_t*>(calib->ids.data()), {calib->count, calib->seq_len}, at::kLong);
        rope = makeRope(cfg, calib->seq_len);
        h = model.embed(ids);
    }
    std::vector<at::Tensor> blockInputs(std::size_t(model.nBlocks())); // dense, for sensitivity
    // Keeping fp32 copies of the quantized layers costs 4 bytes per weight;
    // above 1 GiB (a 1B model) round-to-nearest layers are stored as a recipe instead.
    double chosenWeights = 0;
    for (const auto& [n, c] : chosen)
        chosenWeights += double(model.raw(n).numel());
    const bool lazy = chosenWeights * 4 > double(int64_t(1) << 30);
    double weightedBits = 0, linearBits = 0, linearParams = 0;
    for (int b = 0; b < model.nBlocks(); ++b) {
        if (skipped(b))
            continue;
        BlockWeights w = model.block(b);
        LinearInputs in;
        at::Tensor hNext;
        if (calib) {
            if (opt.sensitivity)
                blockInputs[std::size_t(b)] = h;
            hNext = blockForward(w, cfg, h, rope, &in);
        }
        // (a mixture's block: attention, the experts one by one, each on the tokens routed to it)
        for (const BlockLinear& layer : blockLinears(w, cfg, b, calib ? &in : nullptr)) {
            const TensorRole role = layer.role;
            const std::string& name = layer.name;
            const at::Tensor& input = layer.input;
            const at::Tensor raw = model.raw(name);
            linearParams += double(raw.numel());
            const auto it = chosen.find(name);
            if (it == chosen.end()) {
                linearBits += 16.0 * double(raw.numel());
                continue;
            }
            const LayerChoice& c = it->second;
            const bool fast = c.method == QuantMethod::Rtn && rtnKernelSupports(c.scheme);
            // the fast path reads the stored dtype itself; the others want fp32
            const at::Tensor wt = fast ? raw : raw.to(at::kFloat);
            LayerQuantStats s;
            s.name = name;
            s.kind = roleInfo(role).kind;
            s.block = b;
            s.shape = wt.sizes().vec();
            c.scheme.checkShape(name, wt.size(1));
            at::Tensor deq;
            WeightErrorStats e;
            // an importance matrix changes llama.cpp's block types (not Q8_0)
            std::vector<float> importance;
            if (c.scheme.format == QuantFormat::Ggml && c.method == QuantMethod::Rtn) {
                const gguf::TypeInfo& t = gguf::typeInfo(c.scheme.ggml);
                if (opt.imatrix && t.takesImatrix)
                    importance = expertWeights(opt.imatrix->weights(ggufTensorName(role, b)), layer.expert, cfg.n_expert);
                // the grid i-quants llama.cpp only writes with importance weights: without a
                // matrix, the calibration inputs of this layer give them (the mean squares
                // `tailor-cli imatrix` computes on the same text)
                if (importance.empty() && t.requiresImatrix) {
                    if (!calib)
                        throw Error(name + ": " + t.name +
                                    " needs importance weights, as llama.cpp does: give a calibration text or an importance matrix");
                    importance = imatrixEntryOf(input).weights();
                }
            }
            if (fast) // same numbers as fakeQuantize + weightStats, without float64 copies
                deq = rtnWithStats(wt, c.scheme, e);
            s.nonfinite = fast ? e.nonfinite : (~at::isfinite(wt)).sum().item<int64_t>();
            if (s.nonfinite > 0) {
                rep.warnings.push_back(name + ": " + std::to_string(s.nonfinite) + " NaN/Inf weights; left unquantized");
                s.mse = s.max_abs_err = s.sqnr_db = s.kurtosis = std::numeric_limits<double>::quiet_NaN();
                linearBits += 16.0 * double(wt.numel());
                rep.layers.push_back(s);
                continue;
            }
            if (fast) {
                s.mse = e.mse, s.max_abs_err = e.max_abs_err, s.sqnr_db = e.sqnr_db;
                s.kurtosis = e.kurtosis, s.outliers_3sigma = e.outliers_3sigma, s.outliers_6sigma = e.outliers_6sigma;
            } else {
                deq = c.method == QuantMethod::Gptq ? gptqQuantize(wt, input, c.scheme, GptqOptions{opt.act_order})
                                                     : fakeQuantizeWeighted(raw, c.scheme, importance);
                weightStats(wt, deq, s);
            }
            if (calib && input.size(0) > 0) // (an expert no calibration token reached has no output to compare)
                s.output_rel_err = outputError(input, wt.to(at::kFloat), deq);
            s.quantized = true;
            s.scheme = choiceName(c);
            if (fast && lazy) // quantized again when used: no fp32 copy of a large model is kept
                rep.model->replaceLazily(name, [scheme = c.scheme](const at::Tensor& w) {
                    WeightErrorStats unused;
                    return rtnWithStats(w, scheme, unused);
                });
            else
                rep.model->replace(name, deq);
            if (c.scheme.format == QuantFormat::Ggml && c.method == QuantMethod::Rtn)
                rep.model->setGgmlPacking(name, {c.scheme.ggml, importance, raw});
            rep.quantized_parameters += wt.numel();
            const double bits = c.scheme.bitsPerWeight(wt.size(1)) * double(wt.numel());
            weightedBits += bits;
            linearBits += bits;
            rep.layers.push_back(s);
        }
        // GPTQ calibrates each block on the outputs of the blocks already quantized.
        if (calib)
            h = gptq ? blockForward(rep.model->block(b), cfg, h, rope) : hNext;
        // freed per-layer buffers (hundreds of MB on a 1B model) go back to the
        // kernel, so the report stays within checkpoint + 3 GiB
        releaseFreedMemory();
        reportProgress(progress, 0.8 * double(b + 1) / model.nBlocks(), "quantizing block " + std::to_string(b));
    }

    // The embedding table and lm_head, row by row.
    auto quantizeTable = [&](const std::string& name, const std::string& kind, const QuantScheme& scheme, const at::Tensor& x) {
        scheme.validate();
        const at::Tensor wt = model.raw(name).to(at::kFloat);
        scheme.checkShape(name, wt.size(1));
        LayerQuantStats s;
        s.name = name;
        s.kind = kind;
        s.shape = wt.sizes().vec();
        s.nonfinite = (~at::isfinite(wt)).sum().item<int64_t>();
        if (s.nonfinite > 0) {
            rep.warnings.push_back(name + ": " + std::to_string(s.nonfinite) + " NaN/Inf weights; left unquantized");
            rep.layers.push_back(s);
            return;
        }
        const at::Tensor deq = fakeQuantize(wt, scheme);
        weightStats(wt, deq, s);
        if (x.defined()) {
            if (kind == "embed") { // the rows the calibration text looks up
                const at::Tensor rows = wt.index_select(0, ids.reshape({-1}));
                s.output_rel_err = (deq.index_select(0, ids.reshape({-1})) - rows).norm().item<double>() / std::max(1e-30, rows.norm().item<double>());
            } else
                s.output_rel_err = outputError(x, wt, deq);
        }
        s.quantized = true;
        s.scheme = scheme.name();
        rep.model->replace(name, deq);
        if (scheme.format == QuantFormat::Ggml)
            rep.model->setGgmlPacking(name, {scheme.ggml, {}, model.raw(name)});
        rep.quantized_parameters += wt.numel();
        weightedBits += scheme.bitsPerWeight(wt.size(1)) * double(wt.numel());
        rep.layers.push_back(s);
    };
    if (opt.embeddings)
        quantizeTable(hfTensorName(TensorRole::TokenEmbd), "embed", *opt.embeddings, calib ? ids : at::Tensor());
    if (opt.lm_head)
        quantizeTable(hfTensorName(TensorRole::Output), "lm_head", *opt.lm_head,
                      calib ? rmsNorm(h, model.finalNorm(), cfg.rms_norm_eps) : at::Tensor());

    rep.bits_per_weight = rep.quantized_parameters ? weightedBits / double(rep.quantized_parameters) : 0;
    rep.linear_bits_per_weight = linearParams > 0 ? linearBits / linearParams : 0;

    // Sensitivity: the dense model with one layer quantized, run from that
    // layer's block on the stored dense inputs of the block.
    if (opt.sensitivity) {
        const auto tail = [&](int from, at::Tensor x) {
            for (int b = from; b < model.nBlocks(); ++b)
                if (!skipped(b))
                    x = blockForward(model.block(b), cfg, x, rope);
            return windowsNll(model, x, ids);
        };
        int first = 0;
        while (first < model.nBlocks() && skipped(first))
            ++first;
        rep.dense_calib_ppl = pplOf(tail(first, model.embed(ids)), *calib);
        for (std::size_t i = 0; i < rep.layers.size(); ++i) {
            LayerQuantStats& s = rep.layers[i];
            if (!s.quantized)
                continue;
            if (s.block < 0) { // embedding / lm_head: the whole pass with that one table changed
                auto one = model.derive();
                one->replace(s.name, rep.model->raw(s.name));
                const at::Tensor x = runBlocks(*one, one->embed(ids), 0, one->nBlocks(), rope, blockSkipMask(*one, opt.skip_blocks));
                s.sensitivity_ppl = pplOf(windowsNll(*one, x, ids), *calib);
                continue;
            }
            BlockWeights w = model.block(s.block);
            const at::Tensor deq = rep.model->raw(s.name);
            for (auto& [n, t] : w.named(cfg, s.block))
                if (n == s.name)
                    *t = deq;
            const at::Tensor x = blockForward(w, cfg, blockInputs[std::size_t(s.block)], rope);
            s.sensitivity_ppl = pplOf(tail(s.block + 1, x), *calib);
            reportProgress(progress, 0.8 + 0.2 * double(i + 1) / double(rep.layers.size()), "sensitivity of " + s.name);
        }
    }
    return rep;
}

void readMixedPlan(const std::string& path, QuantOptions& opt)
{
    const QJsonObject o = readJsonObject(path, "the mixed-precision plan");
    if (!o.value("rules").isArray() || o.value("rules").toArray().isEmpty())
        throw Error(path + ": 'rules' must be a non-empty list of {\"layers\": REGEX, \"scheme\": NAME}");
    opt.rules.clear();
    int i = 0;
    for (const auto& v : o.value("rules").toArray()) {
        ++i;
        const QJsonObject r = v.toObject();
        QuantRule rule;
        rule.layers = r.value("layers").toString().toStdString();
        rule.keep = r.value("keep").toBool(false);
        try {
            if (!rule.keep)
                rule.scheme = QuantScheme::parse(r.value("scheme").toString().toStdString());
        } catch (const Error& e) {
            throw Error(path + ": rule " + std::to_string(i) + ": " + e.what());
        }
        try {
            rule.method = quantMethodFromName(r.value("method").toString("rtn").toStdString());
        } catch (const Error& e) {
            throw Error(path + ": rule " + std::to_string(i) + ": " + e.what());
        }
        opt.rules.push_back(rule);
    }
    try {
        if (o.contains("embeddings"))
            opt.embeddings = QuantScheme::parse(o.value("embeddings").toString().toStdString());
        if (o.contains("lm_head"))
            opt.lm_head = QuantScheme::parse(o.value("lm_head").toString().toStdString());
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
}

} // namespace tailor
