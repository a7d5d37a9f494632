#include "spectrum.h"
#include "core/arch_table.h"
#include "core/compute_threads.h"
#include "core/error.h"
#include "core/model.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <cmath>

namespace tailor {

double LayerSpectrum::energyAt(int64_t k) const
{
    double total = 0, top = 0;
    for (std::size_t i = 0; i < singular_values.size(); ++i) {
        const double e = singular_values[i] * singular_values[i];
        total += e;
        if (int64_t(i) < k)
            top += e;
    }
    return total > 0 ? top / total : 1.0;
}

int64_t LayerSpectrum::rankForEnergy(double share) const
{
    double total = 0;
    for (double s : singular_values)
        total += s * s;
    double acc = 0;
    for (std::size_t i = 0; i < singular_values.size(); ++i) {
        acc += singular_values[i] * singular_values[i];
        if (acc >= share * total - 1e-15 * total)
            return int64_t(i + 1);
    }
    return int64_t(singular_values.size());
}

LayerSpectrum computeSpectrum(const std::string& name, const std::vector<double>& sv, int64_t rows, int64_t cols)
{
    LayerSpectrum s;
    s.name = name;
    s.rows = rows;
    s.cols = cols;
    s.singular_values = sv;
    s.break_even_rank = rows * cols / (rows + cols);
    double sum = 0;
    for (double v : sv)
        sum += v;
    double entropy = 0;
    for (double v : sv)
        if (v > 0 && sum > 0)
            entropy -= (v / sum) * std::log(v / sum);
    s.effective_rank = std::exp(entropy);
    s.rank90 = s.rankForEnergy(0.90);
    s.rank95 = s.rankForEnergy(0.95);
    s.rank99 = s.rankForEnergy(0.99);
    return s;
}

std::vector<LayerSpectrum> computeSpectra(const Model& model, const std::vector<std::string>& layers, const ProgressFn& progress)
{
    setComputeThreads(0);
    at::NoGradGuard ng;
    std::vector<LayerSpectrum> out;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const at::Tensor w = model.raw(layers[i]).to(at::kFloat);
        const at::Tensor sv = at::linalg_svdvals(w).to(at::kDouble).contiguous();
        out.push_back(computeSpectrum(layers[i], std::vector<double>(sv.data_ptr<double>(), sv.data_ptr<double>() + sv.numel()),
                                      w.size(0), w.size(1)));
        reportProgress(progress, double(i + 1) / double(layers.size()), "SVD of " + layers[i]);
    }
    return out;
}

} // namespace tailor
