#include "spectrum.h"
#include "core/model/arch_table.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <cmath>

namespace tailor {

namespace {
double sumOfSquares(const std::vector<double>& v)
{
    double t = 0;
    for (double x : v)
        t += x * x;
    return t;
}
} // namespace

double LayerSpectrum::energyAt(int64_t k) const
{
    const double total = total_energy > 0 ? total_energy : sumOfSquares(singular_values);
    double top = 0;
    for (std::size_t i = 0; i < singular_values.size() && int64_t(i) < k; ++i)
        top += singular_values[i] * singular_values[i];
    return total > 0 ? std::min(1.0, top / total) : 1.0;
}

int64_t LayerSpectrum::rankForEnergy(double share) const
{
    const double total = total_energy > 0 ? total_energy : sumOfSquares(singular_values);
    double acc = 0;
    for (std::size_t i = 0; i < singular_values.size(); ++i) {
        acc += singular_values[i] * singular_values[i];
        if (acc >= share * total - 1e-12 * total)
            return int64_t(i + 1);
    }
    return randomized ? -1 : int64_t(singular_values.size());
}

LayerSpectrum computeSpectrum(const std::string& name, const std::vector<double>& sv, int64_t rows, int64_t cols,
                              double totalEnergy)
{
    LayerSpectrum s;
    s.name = name;
    s.rows = rows;
    s.cols = cols;
    s.singular_values = sv;
    s.break_even_rank = rows * cols / (rows + cols);
    s.total_energy = totalEnergy > 0 ? totalEnergy : sumOfSquares(sv);
    s.randomized = int64_t(sv.size()) < std::min(rows, cols);
    double sum = 0;
    for (double v : sv)
        sum += v;
    double entropy = 0;
    for (double v : sv)
        if (v > 0 && sum > 0)
            entropy -= (v / sum) * std::log(v / sum);
    // the entropy of a truncated spectrum is not the matrix's: say "unknown"
    s.effective_rank = s.randomized ? std::nan("") : std::exp(entropy);
    s.rank90 = s.rankForEnergy(0.90);
    s.rank95 = s.rankForEnergy(0.95);
    s.rank99 = s.rankForEnergy(0.99);
    return s;
}

namespace {
std::vector<double> toVector(const at::Tensor& t)
{
    const at::Tensor d = t.to(at::kDouble).contiguous();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// Randomized range finder with power iterations: Y = (WWᵀ)^q W Ω, Q = orth(Y),
// σ(QᵀW) approximates the top singular values from below. QR after every
// product keeps the small singular directions from drowning in round-off.
LayerSpectrum randomizedSpectrum(const std::string& name, const at::Tensor& w, const SpectrumOptions& opt)
{
    const int64_t m = w.size(0), n = w.size(1), l = std::min(std::min(m, n), opt.top_k + opt.oversample);
    auto gen = at::detail::createCPUGenerator(opt.seed);
    at::Tensor q = std::get<0>(at::linalg_qr(at::matmul(w, at::randn({n, l}, gen, at::kFloat))));
    for (int it = 0; it < opt.power_iterations; ++it) {
        const at::Tensor z = std::get<0>(at::linalg_qr(at::matmul(w.t(), q)));
        q = std::get<0>(at::linalg_qr(at::matmul(w, z)));
    }
    const at::Tensor b = at::matmul(q.t(), w); // l × n, ‖B‖_F² = energy captured by span(Q)
    std::vector<double> sv = toVector(at::linalg_svdvals(b.to(at::kDouble)));
    sv.resize(std::size_t(opt.top_k));
    const double total = w.to(at::kDouble).pow(2).sum().item<double>();
    const double captured = b.to(at::kDouble).pow(2).sum().item<double>();
    LayerSpectrum s = computeSpectrum(name, sv, m, n, total);
    s.randomized = true;
    s.residual = total > 0 ? std::sqrt(std::max(0.0, total - captured) / total) : 0.0;
    return s;
}
} // namespace

std::vector<LayerSpectrum> computeSpectra(const Model& model, const std::vector<std::string>& layers, const ProgressFn& progress,
                                          const SpectrumOptions& opt)
{
    if (opt.top_k < 0 || opt.oversample < 0 || opt.power_iterations < 0)
        throw Error("spectrum: top-k, oversampling and power iterations must not be negative");
    setComputeThreads(0);
    at::NoGradGuard ng;
    std::vector<LayerSpectrum> out;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const at::Tensor w = model.raw(layers[i]).to(at::kFloat);
        if (opt.top_k > 0 && opt.top_k < std::min(w.size(0), w.size(1)))
            out.push_back(randomizedSpectrum(layers[i], w, opt));
        else
            out.push_back(computeSpectrum(layers[i], toVector(at::linalg_svdvals(w)), w.size(0), w.size(1)));
        reportProgress(progress, double(i + 1) / double(layers.size()), "SVD of " + layers[i]);
    }
    return out;
}

} // namespace tailor
