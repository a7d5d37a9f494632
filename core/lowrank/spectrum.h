#pragma once
// Singular-value spectra of weight matrices and what they say about low-rank
// factorization: energy retained vs rank (Σσ²≤k / Σσ²), effective rank
// (exp of the entropy of σ/Σσ), ranks for 90/95/99 % energy, and the
// break-even rank k* = mn/(m+n) above which W ≈ A·B saves no parameters.
// Torch-free API.
#include "core/model/layer_selection.h"
#include "core/util/progress.h"

#include <string>
#include <vector>

namespace tailor {

class Model;

struct LayerSpectrum {
    std::string name;
    int64_t rows = 0, cols = 0;
    std::vector<double> singular_values; // descending; only the top k when randomized
    int64_t break_even_rank = 0;
    double effective_rank = 0; // NaN when only the top k are known
    int64_t rank90 = 0, rank95 = 0, rank99 = 0; // -1: beyond the top k computed
    // Σσ² over the whole spectrum (= ‖W‖²_F, exact even when randomized), so
    // energy shares of a truncated spectrum stay shares of the whole.
    double total_energy = 0;
    // Randomized top-k only: ‖W − QQᵀW‖_F / ‖W‖_F, the part of W outside the
    // subspace found (0 would be exact); the values are lower bounds of σ_i.
    bool randomized = false;
    double residual = 0;

    double energyAt(int64_t k) const; // share of Σσ² in the top k
    int64_t rankForEnergy(double share) const;
};

struct SpectrumOptions {
    // 0: every singular value (fp32 linalg_svdvals). k > 0: the top k by a
    // randomized range finder (Halko, Martinsson & Tropp 2011) for matrices
    // with min(m, n) > k; smaller matrices still get the exact spectrum.
    int64_t top_k = 0;
    int64_t oversample = 10;
    int power_iterations = 2;
    uint64_t seed = 0;
};

std::vector<LayerSpectrum> computeSpectra(const Model& model, const std::vector<std::string>& layers,
                                          const ProgressFn& progress = {}, const SpectrumOptions& opt = {});
// `totalEnergy` 0 means Σσ² of the given values (a full spectrum).
LayerSpectrum computeSpectrum(const std::string& name, const std::vector<double>& singularValues, int64_t rows, int64_t cols,
                              double totalEnergy = 0);

} // namespace tailor
