#include "gptq.h"
#include "core/util/error.h"

namespace tailor {

namespace {

// Scale and zero point per row for the columns cols (the current group).
void groupParams(const at::Tensor& cols, const QuantScheme& s, at::Tensor& scale, at::Tensor& zero)
{
    if (s.symmetric) {
        const double qmax = double((int64_t(1) << (s.bits - 1)) - 1);
        scale = cols.abs().amax(1) / qmax;
        scale = at::where(scale == 0, at::ones_like(scale), scale);
        zero = at::zeros_like(scale);
    } else {
        const double levels = double((int64_t(1) << s.bits) - 1);
        const at::Tensor lo = cols.amin(1), hi = cols.amax(1);
        scale = (hi - lo) / levels;
        scale = at::where(scale == 0, at::ones_like(scale), scale);
        zero = at::round(-lo / scale);
    }
}

at::Tensor quantizeColumn(const at::Tensor& w, const QuantScheme& s, const at::Tensor& scale, const at::Tensor& zero)
{
    if (s.symmetric) {
        const double qmax = double((int64_t(1) << (s.bits - 1)) - 1);
        return at::clamp(at::round(w / scale), -qmax - 1, qmax) * scale;
    }
    const double levels = double((int64_t(1) << s.bits) - 1);
    return (at::clamp(at::round(w / scale) + zero, 0, levels) - zero) * scale;
}

} // namespace

at::Tensor gptqQuantize(const at::Tensor& wIn, const at::Tensor& inputs, const QuantScheme& s, const GptqOptions& opt)
{
    if (s.format != QuantFormat::Linear)
        throw Error("GPTQ supports linear int schemes, not " + s.name());
    at::Tensor W = wIn.to(at::kDouble).clone();
    const int64_t rows = W.size(0), n = W.size(1);
    const at::Tensor X = inputs.reshape({-1, n}).to(at::kDouble);
    at::Tensor H = X.t().mm(X) * (2.0 / double(X.size(0)));
    const at::Tensor dead = H.diagonal() == 0;
    H.diagonal().masked_fill_(dead, 1.0);
    W.masked_fill_(dead.unsqueeze(0).expand_as(W), 0.0);
    at::Tensor perm, invPerm;
    if (opt.act_order) {
        perm = H.diagonal().argsort(0, true);
        invPerm = perm.argsort();
        W = W.index_select(1, perm);
        H = H.index_select(0, perm).index_select(1, perm);
    }
    H.diagonal().add_(opt.damp * H.diagonal().mean().item<double>());
    // Upper Cholesky factor of H⁻¹: row i holds what column i's error does to the later columns.
    const at::Tensor Hinv = at::linalg_cholesky(at::cholesky_inverse(at::linalg_cholesky(H)), /*upper=*/true);

    at::Tensor Q = at::zeros_like(W);
    const int64_t G = s.granularity == Granularity::Group ? s.group : s.granularity == Granularity::Channel ? n : n;
    at::Tensor scale, zero;
    if (s.granularity == Granularity::Tensor) {
        QuantScheme perTensor = s;
        groupParams(W.reshape({1, -1}), perTensor, scale, zero);
        scale = scale.expand({rows});
        zero = zero.expand({rows});
    }
    for (int64_t i1 = 0; i1 < n; i1 += opt.block) {
        const int64_t i2 = std::min(i1 + opt.block, n), count = i2 - i1;
        at::Tensor W1 = W.narrow(1, i1, count).clone();
        at::Tensor Err1 = at::zeros_like(W1);
        const at::Tensor Hinv1 = Hinv.narrow(0, i1, count).narrow(1, i1, count);
        for (int64_t i = 0; i < count; ++i) {
            const int64_t col = i1 + i;
            if (s.granularity != Granularity::Tensor && col % G == 0) {
                // parameters from the group's columns as updated so far
                at::Tensor groupCols = at::cat({W1.narrow(1, i, count - i), W.narrow(1, i2, n - i2)}, 1)
                                           .narrow(1, 0, std::min(G, n - col));
                groupParams(groupCols, s, scale, zero);
            }
            const at::Tensor w = W1.select(1, i);
            const at::Tensor q = quantizeColumn(w, s, scale, zero);
            Q.select(1, col).copy_(q);
            const double d = Hinv1[i][i].item<double>();
            const at::Tensor err = (w - q) / d;
            W1.narrow(1, i, count - i).sub_(err.unsqueeze(1).mm(Hinv1.narrow(0, i, 1).narrow(1, i, count - i)));
            Err1.select(1, i).copy_(err);
        }
        if (i2 < n)
            W.narrow(1, i2, n - i2).sub_(Err1.mm(Hinv.narrow(0, i1, count).narrow(1, i2, n - i2)));
    }
    if (opt.act_order)
        Q = Q.index_select(1, invPerm);
    return Q.to(at::kFloat);
}

} // namespace tailor
