#pragma once
// Quantize every linear layer of a model (or those a regex selects) by one
// scheme and report, per layer: weight MSE, SQNR, max abs error, outlier
// statistics, the relative output error on calibration activations
// ||WX - ŴX|| / ||WX||, and non-finite weights. The fake-quantized model
// (dequantized fp32 weights) is returned for perplexity. Torch-free API.
#include "core/progress.h"
#include "core/token_windows.h"
#include "quant_scheme.h"

#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;

enum class QuantMethod { Rtn, Gptq };

struct QuantOptions {
    QuantScheme scheme;
    QuantMethod method = QuantMethod::Rtn; // GPTQ needs calibration windows
    bool act_order = false;                // GPTQ only
    std::string layers_regex; // empty = every linear layer of the blocks
    int threads = 0;
    // Blocks a pruned model skips: not quantized, and calibration activations
    // flow around them as they will in the pruned model.
    std::vector<int> skip_blocks;
};

struct LayerQuantStats {
    std::string name;
    std::string kind; // q k v o gate up down
    int block = -1;
    std::vector<int64_t> shape;
    double mse = 0, max_abs_err = 0, sqnr_db = 0;
    double kurtosis = 0, outliers_3sigma = 0, outliers_6sigma = 0; // share of weights beyond kσ
    double output_rel_err = std::numeric_limits<double>::quiet_NaN(); // NaN without calibration
    int64_t nonfinite = 0; // NaN/Inf weights; such a layer is left unquantized
    bool quantized = false;
};

struct QuantReport {
    std::string scheme;
    double bits_per_weight = 0; // over the quantized layers
    int64_t quantized_parameters = 0;
    std::vector<LayerQuantStats> layers;
    std::vector<std::string> warnings;
    std::shared_ptr<Model> model; // fake-quantized copy
};

// calib may be null (no output errors).
QuantReport quantizeModel(const Model& model, const TokenWindows* calib, const QuantOptions& opt,
                          const ProgressFn& progress = {});

} // namespace tailor
