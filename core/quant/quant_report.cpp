#include <algorithm>
#include "quant_report.h"
#include "gptq.h"
#include "linear_quantizer.h"
#include "core/arch_table.h"
#include "core/compute_threads.h"
#include "core/error.h"
#include "core/llama_forward.h"

#include <ATen/core/grad_mode.h>
#include "core/layer_selection.h"

#include <set>
#include <cmath>

namespace tailor {

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

double outputError(const at::Tensor& x, const at::Tensor& w, const at::Tensor& deq)
{
    const at::Tensor flat = x.reshape({-1, x.size(-1)});
    const at::Tensor ref = at::linear(flat, w);
    return (at::linear(flat, deq) - ref).norm().item<double>() / std::max(1e-30, ref.norm().item<double>());
}

} // namespace

QuantReport quantizeModel(const Model& model, const TokenWindows* calib, const QuantOptions& opt, const ProgressFn& progress)
{
    setComputeThreads(opt.threads);
    opt.scheme.validate();
    at::NoGradGuard ng;
    const ModelConfig& cfg = model.config();
    const std::vector<std::string> selected = linearLayers(model, opt.layers_regex);
    const std::set<std::string> chosen(selected.begin(), selected.end());
    const bool gptq = opt.method == QuantMethod::Gptq;
    if (gptq && !calib)
        throw Error("GPTQ needs calibration text");
    QuantReport rep;
    rep.scheme = opt.scheme.name() + (gptq ? "_gptq" : "");
    rep.model = model.derive();

    // Calibration activations flow through the dense model block by block.
    at::Tensor h, ids;
    RopeTable rope;
    if (calib) {
        ids = at::from_blob(const_cast<int64_t*>(calib->ids.data()), {calib->count, calib->seq_len}, at::kLong);
        rope = makeRope(cfg, calib->seq_len);
        h = model.embed(ids);
    }
    double weightedBits = 0;
    for (int b = 0; b < model.nBlocks(); ++b) {
        if (std::find(opt.skip_blocks.begin(), opt.skip_blocks.end(), b) != opt.skip_blocks.end())
            continue;
        BlockWeights w = model.block(b);
        LinearInputs in;
        at::Tensor hNext;
        if (calib)
            hNext = blockForward(w, cfg, h, rope, &in);
        for (TensorRole role : linearRoles()) {
            const std::string name = hfTensorName(role, b);
            if (!chosen.count(name))
                continue;
            const at::Tensor wt = model.raw(name).to(at::kFloat);
            LayerQuantStats s;
            s.name = name;
            s.kind = roleInfo(role).kind;
            s.block = b;
            s.shape = wt.sizes().vec();
            s.nonfinite = (~at::isfinite(wt)).sum().item<int64_t>();
            if (s.nonfinite > 0) {
                rep.warnings.push_back(name + ": " + std::to_string(s.nonfinite) + " NaN/Inf weights; left unquantized");
                s.mse = s.max_abs_err = s.sqnr_db = s.kurtosis = std::numeric_limits<double>::quiet_NaN();
                rep.layers.push_back(s);
                continue;
            }
            opt.scheme.checkShape(name, wt.size(1));
            const at::Tensor deq = gptq ? gptqQuantize(wt, in.forRole(role), opt.scheme, GptqOptions{opt.act_order})
                                        : fakeQuantize(wt, opt.scheme);
            weightStats(wt, deq, s);
            if (calib) {
                const at::Tensor& x = in.forRole(role);
                s.output_rel_err = outputError(x, wt, deq);
            }
            s.quantized = true;
            rep.model->replace(name, deq);
            rep.quantized_parameters += wt.numel();
            weightedBits += opt.scheme.bitsPerWeight(wt.size(1)) * double(wt.numel());
            rep.layers.push_back(s);
        }
        // GPTQ calibrates each block on the outputs of the blocks already quantized.
        if (calib)
            h = gptq ? blockForward(rep.model->block(b), cfg, h, rope) : hNext;
        reportProgress(progress, double(b + 1) / model.nBlocks(), "quantizing block " + std::to_string(b));
    }
    rep.bits_per_weight = rep.quantized_parameters ? weightedBits / double(rep.quantized_parameters) : 0;
    return rep;
}

} // namespace tailor
