#pragma once
// "The best model that fits N GB" (#16): per-tensor quantization types chosen
// for a size budget from measured sensitivity, and verified by measurement.
//  1. Sensitivity: on calibration windows, each linear layer of each block is
//     quantized alone by each candidate scheme and the KL divergence of the
//     next-token distribution from the base model's is measured (the forward
//     pass restarts at the layer's block from cached hidden states) — by
//     default one reference candidate per layer, the others scaled by their
//     squared output error on the layer's calibration inputs (KLD is
//     quadratic in a small perturbation); or every candidate.
//  2. Allocation: bit_allocation.h minimizes the summed KLD under the budget.
//  3. Verification: the chosen plan, a frontier of plans from the smallest to
//     the largest size, and the uniform schemes (or llama-quantize's
//     mixtures, for file budgets) are built and their KLD measured against
//     the base model on the evaluation windows (fidelity.h).
// Two budgets: bits per linear weight (the blocks' linear layers; candidates
// include linear int2..int8 schemes, and a plan is a Tailor quant plan), or the
// bytes of the whole GGUF file (candidates are llama.cpp types, and the plan
// is a GGUF export with one type per tensor).
#include "core/eval/fidelity.h"
#include "core/quant/quant_scheme.h"
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
struct Imatrix;

enum class BudgetTarget { LinearBitsPerWeight, GgufFileBytes };

struct BudgetOptions {
    BudgetTarget target = BudgetTarget::LinearBitsPerWeight;
    double value = 4.5;                // bits per linear weight, or bytes of the file
    std::vector<std::string> schemes;  // candidates; empty = defaultBudgetSchemes(target)
    const Imatrix* imatrix = nullptr;  // llama.cpp types that take one are quantized with it
    std::string base_type = "q8_0";    // GGUF: the file type deciding the tensors outside the blocks
    int frontier_points = 7;           // measured plans along the predicted Pareto curve
    bool reference = true;             // measure uniform schemes / llama-quantize mixtures too
    // Every: each (layer, candidate) pair is probed; Reference: one candidate
    // per layer, the one nearest the target (on tinystories-12L at 4.5 bits
    // the allocation from Reference measured KLD 0.00292 against 0.00302 from
    // Every, at 1/17 of the probes).
    enum class Probe { Every, Reference } probe = Probe::Reference;
    int64_t batch_tokens = 2048;
    // The measured plans' KLD on int8 GEMM (FidelityOptions::int8_products);
    // the probes and the choice stay on fp32.
    bool int8_products = false;
};

// The candidate table: llama.cpp's block types, and for bit budgets linear
// schemes from 2 to 8 bits.
std::vector<std::string> defaultBudgetSchemes(BudgetTarget target);

struct SchemeSensitivity {
    QuantScheme scheme;
    double bytes = 0;          // this tensor's bytes with the scheme (padded as in a GGUF file for file budgets)
    double output_rel_err = 0; // ||WX - ŴX|| / ||WX|| on the calibration inputs
    double kld = 0;            // mean KLD with only this tensor quantized (measured or scaled)
    bool measured = false;     // probed rather than scaled from the reference
};

struct TensorSensitivity {
    std::string name, gguf_name, kind;
    int block = -1;
    int64_t params = 0;
    std::vector<SchemeSensitivity> schemes; // the candidates this tensor's shape allows
};

// HF tensor name -> its scheme.
using SchemeByTensor = std::map<std::string, QuantScheme>;

struct BudgetPlan {
    std::string label;                         // "chosen", "frontier 3", "q4_0", "q4_k_m"
    SchemeByTensor scheme;                     // empty for llama-quantize mixtures
    double bits_per_weight = 0;                // over the blocks' linear weights
    uint64_t file_bytes = 0;                   // GGUF file size (file budgets)
    double predicted_kld = -1;                 // summed sensitivities; -1 when not predicted
    FidelityResult measured;
    bool chosen = false, reference = false;
};

struct BudgetResult {
    BudgetTarget target;
    double value = 0;
    double min_value = 0, max_value = 0; // the achievable range of the target
    std::vector<TensorSensitivity> tensors;
    BudgetPlan chosen;
    std::vector<BudgetPlan> frontier;   // by size
    std::vector<BudgetPlan> references; // uniform schemes / mixtures, by size
    std::vector<std::string> warnings;
    double base_calib_ppl = 0;
};

// Per-layer KLD sensitivity on the calibration windows (step 1).
std::vector<TensorSensitivity> measureSensitivity(const Model& model, const TokenWindows& calib, const BudgetOptions& opt,
                                                  const ProgressFn& progress = {}, double* baseCalibPpl = nullptr);

// Steps 2 and 3; `eval` are the windows the plans are judged on (the
// calibration windows when empty).
BudgetResult searchBudget(const Model& model, const TokenWindows& calib, const TokenWindows& eval, const BudgetOptions& opt,
                          const ProgressFn& progress = {});

// The model quantized tensor by tensor as `scheme` says (lazily; llama.cpp
// types keep their packing for the decoder).
std::shared_ptr<Model> quantizedByScheme(const Model& model, const SchemeByTensor& scheme,
                                         const Imatrix* imatrix);

// GGUF --tensor-type rules that give each tensor its type ("^blk\.3\.attn_v\.weight$=q4_k"),
// named as in the written file: with blocks dropped, the kept blocks are numbered 0, 1, ...
std::vector<std::string> ggufTensorTypes(const Model& model, const SchemeByTensor& scheme, const std::vector<int>& dropBlocks = {});

// The GGUF export of per-tensor schemes: the base type for the other tensors,
// the importance matrix, one anchored --tensor-type rule per tensor.
struct GgufExportOptions;
GgufExportOptions schemeExportOptions(const Model& model, const SchemeByTensor& scheme, const BudgetOptions& opt,
                                      const std::vector<int>& dropBlocks = {});
// What a GGUF file of the model spends outside the allocated tensors (vocabulary,
// metadata, embeddings, norms, head, padding): its size with each allocated
// tensor at `scheme`, minus those tensors' bytes `schemeBytes`. The budget
// search and the joint search's arms subtract it from a file target.
double fixedFileBytes(const Model& model, const SchemeByTensor& scheme, double schemeBytes, const BudgetOptions& opt,
                      const std::vector<int>& dropBlocks = {}, std::vector<std::string>* warnings = nullptr);

// A file budget as a user gives it: bytes ("3500000", "3.5M", "1.2G") or a
// llama-quantize type whose file of this model sets the size ("q4_k_m",
// written to `sizeOf`). Throws Error naming the text when it is neither.
uint64_t fileBudgetBytes(const Model& model, const std::string& text, const Imatrix* imatrix, std::string* sizeOf = nullptr);
bool isFileBudget(const std::string& text); // what fileBudgetBytes takes

// A candidate applies to rows of `cols` values (a llama.cpp type's block must
// divide the row; elsewhere llama.cpp would fall back to another type).
bool schemeFits(const QuantScheme& s, int64_t cols);
// A tensor's bytes with `s`: aligned as in a GGUF file for file budgets.
double schemeBytes(const QuantScheme& s, int64_t rows, int64_t cols, BudgetTarget target);

} // namespace tailor
