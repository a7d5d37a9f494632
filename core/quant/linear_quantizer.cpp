#include "linear_quantizer.h"

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

at::Tensor fakeQuantize(const at::Tensor& w, const QuantScheme& s, QuantGrid* grid)
{
    const int64_t in = w.size(-1);
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
    if (s.format == QuantFormat::Q8_0) {
        // llama.cpp: d = amax / 127, q = round(r / d), r̂ = q * fp16(d)
        at::Tensor d = x.abs().amax(1, true) / 127.0;
        const at::Tensor safe = at::where(d == 0, at::ones_like(d), d);
        const at::Tensor q = at::where(d == 0, at::zeros_like(x), at::round(x / safe));
        const at::Tensor d16 = d.to(at::kHalf).to(at::kDouble);
        deq = q * d16;
        scale = d16.squeeze(1);
        zero = at::zeros_like(scale);
        qmin = -127;
        qmax = 127;
    } else if (s.format == QuantFormat::Q4_0) {
        // llama.cpp: m = signed value of largest magnitude, d = m / -8,
        // q = min(15, trunc(r / d + 8.5)), r̂ = (q - 8) * fp16(d)
        const at::Tensor idx = x.abs().argmax(1, true);
        const at::Tensor m = x.gather(1, idx);
        at::Tensor d = m / -8.0;
        const at::Tensor safe = at::where(d == 0, at::ones_like(d), d);
        const at::Tensor q = at::where(d == 0, at::full_like(x, 8), at::clamp_max(at::trunc(x / safe + 8.5), 15));
        const at::Tensor d16 = d.to(at::kHalf).to(at::kDouble);
        deq = (q - 8) * d16;
        scale = d16.squeeze(1);
        zero = at::full_like(scale, 8);
        qmin = 0;
        qmax = 15;
    } else {
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

} // namespace tailor
