#pragma once
// Quantize every linear layer of a model (or those a regex selects) by one
// scheme, or by a mixed-precision plan of rules (the first rule whose regex
// matches a layer decides its scheme and method, or keeps it unquantized);
// optionally the embedding table and lm_head too. Report, per layer: weight MSE, SQNR, max abs error, outlier
// statistics, the relative output error on calibration activations
// ||WX - ŴX|| / ||WX||, and non-finite weights. The fake-quantized model
// (dequantized fp32 weights) is returned for perplexity. Torch-free API.
#include "core/util/progress.h"
#include "core/util/token_windows.h"
#include "quant_scheme.h"

#include <limits>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
struct Imatrix;

enum class QuantMethod { Rtn, Gptq };
// Names as the CLI, plan files and mixed-plan rules spell them ("rtn",
// "gptq"), parsed here once; the error says what is accepted.
QuantMethod quantMethodFromName(const std::string& name);
const char* quantMethodName(QuantMethod m);

struct QuantRule {
    std::string layers; // regex searched in the tensor name; empty matches every layer
    QuantScheme scheme;
    QuantMethod method = QuantMethod::Rtn;
    bool keep = false; // leave the matched layers unquantized
};

struct QuantOptions {
    QuantScheme scheme;
    QuantMethod method = QuantMethod::Rtn; // GPTQ needs calibration windows
    bool act_order = false;                // GPTQ only
    std::string layers_regex; // empty = every linear layer of the blocks
    int threads = 0;
    // Blocks a pruned model skips: not quantized, and calibration activations
    // flow around them as they will in the pruned model.
    std::vector<int> skip_blocks;
    // Mixed precision: when not empty, these decide per layer (scheme, method
    // and layers_regex above are then unused). Layers no rule matches stay as they are.
    std::vector<QuantRule> rules;
    // Also quantize the embedding table / lm_head (per row: rows are tokens /
    // output channels). A tied lm_head is the embedding: only `embeddings` applies.
    std::optional<QuantScheme> embeddings, lm_head;
    // Per layer, the calibration perplexity with only that layer quantized.
    bool sensitivity = false;
    // Importance weights for llama.cpp's block types (round to nearest), as a
    // GGUF export with this importance matrix quantizes them.
    const Imatrix* imatrix = nullptr;
};

struct LayerQuantStats {
    std::string name;
    std::string kind; // q k v o gate up down embed lm_head
    std::string scheme; // the scheme (and _gptq) this layer got; empty when kept
    int block = -1;
    std::vector<int64_t> shape;
    double mse = 0, max_abs_err = 0, sqnr_db = 0;
    double kurtosis = 0, outliers_3sigma = 0, outliers_6sigma = 0; // share of weights beyond kσ
    double output_rel_err = std::numeric_limits<double>::quiet_NaN(); // NaN without calibration
    int64_t nonfinite = 0; // NaN/Inf weights; such a layer is left unquantized
    bool quantized = false;
    double sensitivity_ppl = std::numeric_limits<double>::quiet_NaN(); // with opt.sensitivity
};

struct QuantReport {
    std::string scheme;
    double bits_per_weight = 0; // over the quantized layers
    // Over every linear layer of the kept blocks, unquantized ones at 16 bits:
    // the size of a mixed-precision plan.
    double linear_bits_per_weight = 0;
    int64_t quantized_parameters = 0;
    double dense_calib_ppl = std::numeric_limits<double>::quiet_NaN(); // with opt.sensitivity
    std::vector<LayerQuantStats> layers;
    std::vector<std::string> warnings;
    std::shared_ptr<Model> model; // fake-quantized copy
};

// calib may be null (no output errors, no GPTQ, no sensitivity).
QuantReport quantizeModel(const Model& model, const TokenWindows* calib, const QuantOptions& opt,
                          const ProgressFn& progress = {});

// A mixed-precision plan file: {"rules": [{"layers": REGEX, "scheme": NAME,
// "method": "rtn"|"gptq"} | {"layers": REGEX, "keep": true}, ...],
// "embeddings": NAME, "lm_head": NAME}; errors name the file and the rule.
void readMixedPlan(const std::string& path, QuantOptions& opt);

} // namespace tailor
