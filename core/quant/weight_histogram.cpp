#include "weight_histogram.h"
#include "linear_quantizer.h"
#include "core/util/error.h"
#include "core/model/model.h"

#include <ATen/core/grad_mode.h>

namespace tailor {

namespace {

Histogram histogramOf(const at::Tensor& t, int bins)
{
    const at::Tensor x = t.reshape({-1}).to(at::kDouble);
    double lo = x.min().item<double>(), hi = x.max().item<double>();
    if (hi <= lo)
        hi = lo + 1e-12;
    const at::Tensor counts = at::histc(x, bins, lo, hi);
    Histogram h;
    for (int i = 0; i <= bins; ++i)
        h.edges.push_back(lo + (hi - lo) * i / bins);
    const at::Tensor c = counts.contiguous();
    h.counts.assign(c.data_ptr<double>(), c.data_ptr<double>() + bins);
    return h;
}

} // namespace

WeightHistogram weightHistogram(const Model& model, const std::string& tensor, const QuantScheme& scheme, int bins, int64_t group)
{
    at::NoGradGuard ng;
    const at::Tensor w = model.raw(tensor).to(at::kFloat);
    if (w.dim() != 2)
        throw Error("tensor '" + tensor + "' is not a weight matrix");
    scheme.checkShape(tensor, w.size(1));
    QuantGrid grid;
    const at::Tensor deq = fakeQuantize(w, scheme, &grid);
    WeightHistogram h;
    h.weights = histogramOf(w, bins);
    h.error = histogramOf(deq - w, bins);
    h.scales = histogramOf(grid.scale, std::min<int>(bins, int(std::max<int64_t>(1, grid.scale.numel()))));
    const at::Tensor s = grid.scale.to(at::kDouble), z = grid.zero.to(at::kDouble);
    const at::Tensor width = (grid.qmax - grid.qmin) * s;
    if (group < 0)
        group = width.argmax().item<int64_t>();
    if (group >= s.numel())
        throw Error("tensor '" + tensor + "' has " + std::to_string(s.numel()) + " groups; group " + std::to_string(group) + " does not exist");
    h.group = group;
    const double sc = s[group].item<double>(), zp = z[group].item<double>();
    // Q4_0 stores q - 8 with a negative d; the range is ordered below.
    double a = (double(grid.qmin) - zp) * sc, b = (double(grid.qmax) - zp) * sc;
    h.clip_lo = std::min(a, b);
    h.clip_hi = std::max(a, b);
    for (int64_t q = grid.qmin; q <= grid.qmax; ++q)
        h.levels.push_back((double(q) - zp) * sc);
    return h;
}

} // namespace tailor
