#pragma once
// Low-rank factorization W ≈ A·B (A = U_k Σ_k [m×k], B = V_kᵀ [k×n]) of linear
// layers, plain truncated SVD or activation-aware (SVD-LLM-style whitening:
// S = Cholesky(XᵀX) of the layer's calibration inputs, SVD of W·S, S⁻¹ folded
// back into B). Ranks per layer by hand, by an energy threshold, or by a
// parameter budget. The returned model carries A·B merged (dense) for
// evaluation. Torch-free API.
#include "core/util/progress.h"
#include "core/util/token_windows.h"
#include "spectrum.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;

struct LowRankLayerResult {
    std::string name;
    int64_t rank = 0, rows = 0, cols = 0;
    int64_t params_before = 0, params_after = 0; // m·n and k·(m+n)
    double output_rel_err = 0; // ||WX − A·B·X|| / ||WX|| on calibration inputs
};

struct LowRankResult {
    std::vector<LowRankLayerResult> layers;
    int64_t params_before = 0, params_after = 0;
    std::vector<std::string> warnings;
    std::shared_ptr<Model> model;
};

// Ranks keeping `share` of each layer's spectral energy.
std::map<std::string, int64_t> ranksByEnergy(const std::vector<LayerSpectrum>& spectra, double share);
// Ranks so the factorized layers keep `budget` (0, 1] of their parameters:
// k = floor(budget · mn / (m + n)) per layer.
std::map<std::string, int64_t> ranksByBudget(const std::vector<LayerSpectrum>& spectra, double budget);

// Every named tensor is a weight matrix of the model and 1 <= k <= min(m, n).
void validateRanks(const Model& model, const std::map<std::string, int64_t>& ranks);

// `skipBlocks`: blocks a pruned model skips; calibration activations flow
// around them as they will in the pruned model (their layers may not be ranked).
LowRankResult factorizeModel(const Model& model, const TokenWindows& calib, const std::map<std::string, int64_t>& ranks,
                             bool whiten, const ProgressFn& progress = {}, const std::vector<int>& skipBlocks = {});

} // namespace tailor
