#pragma once
// Singular-value spectra of weight matrices and what they say about low-rank
// factorization: energy retained vs rank (Σσ²≤k / Σσ²), effective rank
// (exp of the entropy of σ/Σσ), ranks for 90/95/99 % energy, and the
// break-even rank k* = mn/(m+n) above which W ≈ A·B saves no parameters.
// Torch-free API.
#include "core/layer_selection.h"
#include "core/progress.h"

#include <string>
#include <vector>

namespace tailor {

class Model;

struct LayerSpectrum {
    std::string name;
    int64_t rows = 0, cols = 0;
    std::vector<double> singular_values; // descending
    int64_t break_even_rank = 0;
    double effective_rank = 0;
    int64_t rank90 = 0, rank95 = 0, rank99 = 0;

    double energyAt(int64_t k) const; // share of Σσ² in the top k
    int64_t rankForEnergy(double share) const;
};

std::vector<LayerSpectrum> computeSpectra(const Model& model, const std::vector<std::string>& layers,
                                          const ProgressFn& progress = {});
LayerSpectrum computeSpectrum(const std::string& name, const std::vector<double>& singularValues, int64_t rows, int64_t cols);

} // namespace tailor
