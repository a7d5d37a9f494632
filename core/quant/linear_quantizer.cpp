#include <algorithm>
#include "linear_quantizer.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/formats/gguf/ggml_quants.h"
#include "core/formats/gguf/ggml_scales.h"

namespace tailor {

namespace {

// Rows of the blocks that share one scale.
at::Tensor blockView(const at::Tensor& w, const QuantScheme& s)
{
    const int64_t in = w.size(-1);
    switch (s.granularity) {
    case Granularity::Tensor: return w.reshape({1, -1});
    case Granularity::Channel: return w.reshape({-1, in});
    case Granularity::Group: return w.reshape({-1, s.group});
    }
    return w;
}

struct Quantized {
    at::Tensor deq, scale, zero;
};

Quantized linearQuant(const at::Tensor& x, const QuantScheme& s, double clipRatio)
{
    Quantized q;
    if (s.symmetric) {
        const double qmax = double((int64_t(1) << (s.bits - 1)) - 1);
        at::Tensor scale = x.abs().amax(1, true) * clipRatio / qmax;
        scale = at::where(scale == 0, at::ones_like(scale), scale); // a group of zeros keeps s = 1
        q.deq = at::clamp(at::round(x / scale), -qmax - 1, qmax) * scale;
        q.scale = scale.squeeze(1);
        q.zero = at::zeros_like(q.scale);
    } else {
        const double levels = double((int64_t(1) << s.bits) - 1);
        const at::Tensor lo = x.amin(1, true) * clipRatio, hi = x.amax(1, true) * clipRatio;
        at::Tensor scale = (hi - lo) / levels;
        scale = at::where(scale == 0, at::ones_like(scale), scale);
        const at::Tensor zero = at::round(-lo / scale);
        q.deq = (at::clamp(at::round(x / scale) + zero, 0, levels) - zero) * scale;
        q.scale = scale.squeeze(1);
        q.zero = zero.squeeze(1);
    }
    return q;
}

} // namespace

at::Tensor fakeQuantizeWeighted(const at::Tensor& w, const QuantScheme& s, const std::vector<float>& importance)
{
    if (s.format == QuantFormat::Ggml && !importance.empty() && gguf::typeInfo(s.ggml).takesImatrix)
        return gguf::roundTrip(w, s.ggml, importance);
    return fakeQuantize(w.to(at::kFloat), s);
}

at::Tensor fakeQuantize(const at::Tensor& w, const QuantScheme& s, QuantGrid* grid)
{
    const int64_t in = w.size(-1);
    if (s.format == QuantFormat::Ggml) {
        // llama.cpp's own quantizer, bytes and all; the grid is what the blocks store
        s.checkShape("weight", in);
        const QByteArray bytes = gguf::encodeRows(w, s.ggml);
        at::Tensor deq = at::empty({w.numel()}, at::kFloat);
        gguf::dequantizeRows(s.ggml, bytes.constData(), deq.data_ptr<float>(), w.numel());
        if (grid) {
            const gguf::SubBlockScales sc = gguf::subBlockScales(s.ggml, bytes.constData(), w.numel());
            grid->scale = at::tensor(sc.scale, at::kFloat);
            grid->zero = at::tensor(sc.zero, at::kFloat);
            grid->qmin = sc.qmin;
            grid->qmax = sc.qmax;
            grid->blockSize = sc.subBlock;
        }
        return deq.reshape(w.sizes());
    }
    if (s.granularity == Granularity::Group && in % s.group != 0) {
        // The last group of each row is shorter: quantize the full groups and the
        // remainder (with its own scales) separately.
        const int64_t full = in - in % s.group;
        QuantScheme rest = s;
        rest.group = in % s.group;
        const at::Tensor w2 = w.reshape({-1, in});
        QuantGrid g1, g2;
        at::Tensor a = full > 0 ? fakeQuantize(w2.narrow(1, 0, full).contiguous(), s, grid ? &g1 : nullptr) : at::Tensor();
        at::Tensor b = fakeQuantize(w2.narrow(1, full, in - full).contiguous(), rest, grid ? &g2 : nullptr);
        if (grid) {
            *grid = g2;
            if (full > 0) {
                grid->scale = at::cat({g1.scale.view({w2.size(0), -1}), g2.scale.view({w2.size(0), -1})}, 1).reshape({-1});
                grid->zero = at::cat({g1.zero.view({w2.size(0), -1}), g2.zero.view({w2.size(0), -1})}, 1).reshape({-1});
                grid->blockSize = s.group;
            }
        }
        return (full > 0 ? at::cat({a, b}, 1) : b).reshape(w.sizes());
    }
    // Computed in float64 (weights widened exactly), as the reference does: it
    // decides ties of round() the same way.
    const at::Tensor x = blockView(w.to(at::kDouble).contiguous(), s);
    at::Tensor deq, scale, zero;
    int64_t qmin = 0, qmax = 0;
    {
        Quantized best = linearQuant(x, s, 1.0);
        if (s.clip == ClipMethod::Mse) {
            // Per block, keep the clipping ratio with the lowest squared error.
            at::Tensor bestErr = (best.deq - x).pow(2).sum(1);
            for (double ratio = 0.95; ratio > 0.49; ratio -= 0.05) {
                Quantized c = linearQuant(x, s, ratio);
                const at::Tensor err = (c.deq - x).pow(2).sum(1);
                const at::Tensor better = err < bestErr;
                best.deq = at::where(better.unsqueeze(1), c.deq, best.deq);
                best.scale = at::where(better, c.scale, best.scale);
                best.zero = at::where(better, c.zero, best.zero);
                bestErr = at::where(better, err, bestErr);
            }
        }
        deq = best.deq;
        scale = best.scale;
        zero = best.zero;
        qmax = s.symmetric ? (int64_t(1) << (s.bits - 1)) - 1 : (int64_t(1) << s.bits) - 1;
        qmin = s.symmetric ? -qmax - 1 : 0;
    }
    if (grid) {
        grid->scale = scale.to(at::kFloat);
        grid->zero = zero.to(at::kFloat);
        grid->qmin = qmin;
        grid->qmax = qmax;
        grid->blockSize = x.size(1);
    }
    return deq.to(at::kFloat).reshape(w.sizes());
}

double outputError(const at::Tensor& x, const at::Tensor& w, const at::Tensor& deq)
{
    const at::Tensor flat = x.reshape({-1, x.size(-1)});
    const at::Tensor ref = at::linear(flat, w);
    return (at::linear(flat, deq) - ref).norm().item<double>() / std::max(1e-30, ref.norm().item<double>());
}

} // namespace tailor
