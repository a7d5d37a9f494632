#pragma once
// Activation quantization (#5): the inputs of every linear layer of the
// blocks quantized symmetrically to b bits, so W8A8-style settings can be
// measured. Ranges are static per layer input, calibrated on the calibration
// text by min-max or a percentile of |x|, or dynamic per token (the row's
// max |x|). q/k/v share one input, gate/up another. Torch-free API.
#include "core/util/token_windows.h"

#include <map>
#include <string>
#include <vector>

namespace tailor {

class Model;

enum class ActRange { MinMax, Percentile, Dynamic };

struct ActQuantOptions {
    int bits = 8;
    ActRange range = ActRange::MinMax;
    double percentile = 99.99; // of |x|, for ActRange::Percentile
    std::vector<int> skip_blocks;
    void validate() const;
    std::string name() const; // a8_minmax, a8_p99.99, a8_dynamic
};

// Static clipping value per linear layer (tensor name -> max |x| kept); empty for dynamic.
using ActRanges = std::map<std::string, double>;

ActRanges calibrateActRanges(const Model& model, const TokenWindows& calib, const ActQuantOptions& opt);

// Mean NLL -> perplexity of `windows` with the layer inputs quantized.
double perplexityWithActQuant(const Model& model, const TokenWindows& windows, const ActQuantOptions& opt, const ActRanges& ranges);

} // namespace tailor
