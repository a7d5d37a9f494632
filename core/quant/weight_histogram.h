#pragma once
// What the Quantization view draws for one layer: the weight histogram, the
// clipping range [(qmin - z)·s, (qmax - z)·s] and grid levels of one
// channel/group, the distribution of scales over groups and the histogram of
// the quantization error. Torch-free API.
#include "quant_scheme.h"

#include <string>
#include <vector>

namespace tailor {

class Model;

struct Histogram {
    std::vector<double> edges;  // bins + 1
    std::vector<double> counts; // bins
};

struct WeightHistogram {
    Histogram weights, error, scales;
    int64_t group = 0;          // the group whose range and levels are given
    double clip_lo = 0, clip_hi = 0;
    std::vector<double> levels; // dequantized grid values of that group (all 2^b)
};

// group < 0: the group with the widest range.
WeightHistogram weightHistogram(const Model& model, const std::string& tensor, const QuantScheme& scheme, int bins = 120,
                                int64_t group = -1);

} // namespace tailor
