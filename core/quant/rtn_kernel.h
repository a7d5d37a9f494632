#pragma once
// Round-to-nearest of linear schemes (min-max ranges, per channel or per group,
// sym/asym) together with the per-layer weight statistics, in one pass of
// plain loops over the fp32 weights. Each element is computed in double, as
// fakeQuantize does, so the results are the same; it exists because the
// tensor-op version allocates float64 copies of every matrix and reaches only
// ~17 M weights/s on a 1B model (bench/bench_quant), this one is parallel over rows.
#include "quant_scheme.h"

#include <ATen/ATen.h>

namespace tailor {

struct WeightErrorStats {
    double mse = 0, max_abs_err = 0, sqnr_db = 0;
    double kurtosis = 0, outliers_3sigma = 0, outliers_6sigma = 0;
    int64_t nonfinite = 0;
};

// Whether rtnWithStats handles this scheme (Linear format, min-max clipping,
// per channel or per group).
bool rtnKernelSupports(const QuantScheme& s);

// w: [out, in]. Returns the dequantized fp32 matrix, or an undefined tensor
// when w holds NaN/Inf (stats.nonfinite says how many; nothing is quantized).
// Two passes: mean and spread (the outlier threshold uses this σ), then
// quantization with the error and centred-moment sums.
at::Tensor rtnWithStats(const at::Tensor& w, const QuantScheme& s, WeightErrorStats& stats);

} // namespace tailor
