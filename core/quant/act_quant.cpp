#include "act_quant.h"
#include "core/model/arch_table.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"

#include <ATen/core/grad_mode.h>
#include <algorithm>
#include <cmath>
#include <sstream>

namespace tailor {

void ActQuantOptions::validate() const
{
    if (bits < 2 || bits > 8)
        throw Error("activation bits " + std::to_string(bits) + " are outside 2 to 8 bits");
    if (range == ActRange::Percentile && !(percentile > 50 && percentile <= 100))
        throw Error("activation percentile " + std::to_string(percentile) + " is outside (50, 100]");
}

std::string ActQuantOptions::name() const
{
    std::ostringstream o;
    o << "a" << bits << "_";
    if (range == ActRange::MinMax)
        o << "minmax";
    else if (range == ActRange::Dynamic)
        o << "dynamic";
    else
        o << "p" << percentile;
    return o.str();
}

namespace {
bool skipped(const ActQuantOptions& o, int b) { return std::find(o.skip_blocks.begin(), o.skip_blocks.end(), b) != o.skip_blocks.end(); }

// |x| at the given percentile, from at most ~4 M values (quantile's input limit is 16 M).
double percentileOf(const at::Tensor& x, double p)
{
    at::Tensor a = x.abs().reshape({-1});
    const int64_t stride = std::max<int64_t>(1, a.numel() / (int64_t(4) << 20));
    if (stride > 1)
        a = a.slice(0, 0, a.numel(), stride);
    return at::quantile(a, p / 100.0).item<double>();
}

at::Tensor quantizeSym(const at::Tensor& x, const at::Tensor& clip, int bits)
{
    const double qmax = double((1 << (bits - 1)) - 1);
    const at::Tensor scale = at::clamp_min(clip, 1e-12) / qmax;
    return at::clamp(at::round(x / scale), -qmax - 1, qmax) * scale;
}
} // namespace

ActRanges calibrateActRanges(const Model& model, const TokenWindows& calib, const ActQuantOptions& opt)
{
    opt.validate();
    requireDense(model.config(), "activation quantization");
    ActRanges ranges;
    if (opt.range == ActRange::Dynamic)
        return ranges;
    setComputeThreads(0);
    at::NoGradGuard ng;
    const ModelConfig& c = model.config();
    const at::Tensor ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong);
    const RopeTable rope = makeRope(c, calib.seq_len);
    at::Tensor h = model.embed(ids);
    for (int b = 0; b < model.nBlocks(); ++b) {
        if (skipped(opt, b))
            continue;
        LinearInputs in;
        h = blockForward(model.block(b), c, h, rope, &in);
        for (TensorRole role : linearRoles()) {
            const at::Tensor& x = in.forRole(role);
            ranges[hfTensorName(role, b)] = opt.range == ActRange::MinMax ? x.abs().max().item<double>() : percentileOf(x, opt.percentile);
        }
    }
    return ranges;
}

double perplexityWithActQuant(const Model& model, const TokenWindows& windows, const ActQuantOptions& opt, const ActRanges& ranges)
{
    opt.validate();
    setComputeThreads(0);
    at::NoGradGuard ng;
    const ModelConfig& c = model.config();
    const RopeTable rope = makeRope(c, windows.seq_len);
    const at::Tensor all = at::from_blob(const_cast<int64_t*>(windows.ids.data()), {windows.count, windows.seq_len}, at::kLong);
    const int64_t batch = std::max<int64_t>(1, 2048 / windows.seq_len);
    double nll = 0;
    for (int64_t w0 = 0; w0 < windows.count; w0 += batch) {
        const at::Tensor ids = all.narrow(0, w0, std::min(batch, windows.count - w0));
        at::Tensor h = model.embed(ids);
        for (int b = 0; b < model.nBlocks(); ++b) {
            if (skipped(opt, b))
                continue;
            const BlockWeights w = model.block(b);
            // y = W·Q(x) + b, written as the layer's own output plus W·(Q(x) − x)
            const LinearAdapter adapter = [&, b](TensorRole role, const at::Tensor& x) -> at::Tensor {
                at::Tensor clip;
                if (opt.range == ActRange::Dynamic)
                    clip = x.abs().amax(-1, true);
                else {
                    const auto it = ranges.find(hfTensorName(role, b));
                    if (it == ranges.end())
                        throw Error("no activation range for " + hfTensorName(role, b) + " (calibrate first)");
                    clip = at::scalar_tensor(it->second, x.options());
                }
                const at::Tensor* wt = role == TensorRole::AttnQ ? &w.wq : role == TensorRole::AttnK ? &w.wk
                                     : role == TensorRole::AttnV ? &w.wv : role == TensorRole::AttnO ? &w.wo
                                     : role == TensorRole::FfnGate ? &w.w_gate : role == TensorRole::FfnUp ? &w.w_up : &w.w_down;
                return at::linear(quantizeSym(x, clip, opt.bits) - x, *wt);
            };
            h = blockForward(w, c, h, rope, nullptr, nullptr, &adapter);
        }
        nll += windowsNll(model, h, ids);
    }
    return std::exp(nll / double(windows.predictedTokens()));
}

} // namespace tailor
