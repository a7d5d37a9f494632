#include "factorize.h"
#include "core/model/arch_table.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"

#include <ATen/core/grad_mode.h>
#include <algorithm>
#include <cmath>

namespace tailor {

std::map<std::string, int64_t> ranksByEnergy(const std::vector<LayerSpectrum>& spectra, double share)
{
    if (!(share > 0 && share <= 1))
        throw Error("energy threshold " + std::to_string(share) + " is outside (0, 1]");
    std::map<std::string, int64_t> r;
    for (const auto& s : spectra) {
        r[s.name] = s.rankForEnergy(share);
        if (r[s.name] < 1)
            throw Error(s.name + ": " + std::to_string(share) + " of the energy lies beyond the top " +
                        std::to_string(s.singular_values.size()) + " singular values computed; raise --top-k or use the exact spectrum");
    }
    return r;
}

std::map<std::string, int64_t> ranksByBudget(const std::vector<LayerSpectrum>& spectra, double budget)
{
    if (!(budget > 0 && budget <= 1))
        throw Error("parameter budget " + std::to_string(budget) + " is outside (0, 1]");
    std::map<std::string, int64_t> r;
    for (const auto& s : spectra)
        r[s.name] = std::max<int64_t>(1, int64_t(std::floor(budget * double(s.rows * s.cols) / double(s.rows + s.cols))));
    return r;
}

void validateRanks(const Model& model, const std::map<std::string, int64_t>& ranks)
{
    for (const auto& [name, k] : ranks) {
        const auto* t = model.checkpoint().find(name);
        const bool factored = model.checkpoint().factoredWeights().count(name) > 0; // stored as lora_B · lora_A
        if ((!t || t->info->shape.size() != 2) && !factored)
            throw Error("rank given for '" + name + "', which this model does not have as a weight matrix (a plan for another model?)");
        const auto shape = factored ? model.raw(name).sizes().vec() : t->info->shape;
        const int64_t full = std::min(shape[0], shape[1]);
        if (k < 1 || k > full)
            throw Error("rank " + std::to_string(k) + " for '" + name + "' is outside 1.." + std::to_string(full));
    }
}

namespace {

// Whitening factor S (lower triangular, XᵀX = S Sᵀ), damped until Cholesky succeeds.
at::Tensor whitening(const at::Tensor& x, const std::string& name, std::vector<std::string>& warnings)
{
    const at::Tensor flat = x.reshape({-1, x.size(-1)}).to(at::kDouble);
    at::Tensor gram = flat.t().mm(flat);
    const double meanDiag = gram.diagonal().mean().item<double>();
    double damp = 0;
    for (int attempt = 0; attempt < 8; ++attempt) {
        const at::Tensor g = damp > 0 ? gram + damp * at::eye(gram.size(0), gram.options()) : gram;
        const auto [L, info] = at::linalg_cholesky_ex(g);
        if (info.item<int64_t>() == 0) {
            if (damp > 0)
                warnings.push_back(name + ": XᵀX of the calibration inputs is singular; damped by " +
                                   std::to_string(damp) + " on the diagonal");
            return L;
        }
        damp = damp == 0 ? 1e-6 * std::max(meanDiag, 1e-12) : damp * 10;
    }
    throw Error(name + ": XᵀX of the calibration inputs stays singular after damping");
}

} // namespace

LowRankResult factorizeModel(const Model& model, const TokenWindows& calib, const std::map<std::string, int64_t>& ranks,
                             bool whiten, const ProgressFn& progress, const std::vector<int>& skipBlocks)
{
    setComputeThreads(0);
    at::NoGradGuard ng;
    const ModelConfig& cfg = model.config();
    validateRanks(model, ranks);
    requireDense(cfg, "low-rank factorization"); // (spectra of a mixture's experts work: spectrum.cpp reads weights only)
    LowRankResult res;
    res.model = model.derive();
    const at::Tensor ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong);
    const RopeTable rope = makeRope(cfg, calib.seq_len);
    at::Tensor h = model.embed(ids);
    for (const auto& [name, k] : ranks)
        if (std::find(skipBlocks.begin(), skipBlocks.end(), blockIndexOfTensor(name)) != skipBlocks.end())
            throw Error("rank given for '" + name + "', whose block is dropped");
    for (int b = 0; b < model.nBlocks(); ++b) {
        if (std::find(skipBlocks.begin(), skipBlocks.end(), b) != skipBlocks.end())
            continue;
        LinearInputs in;
        h = blockForward(model.block(b), cfg, h, rope, &in);
        for (TensorRole role : linearRoles()) {
            const std::string name = hfTensorName(role, b);
            auto it = ranks.find(name);
            if (it == ranks.end())
                continue;
            const int64_t k = it->second;
            const at::Tensor& x = in.forRole(role);
            const at::Tensor w = model.raw(name).to(at::kDouble);
            at::Tensor approx, factorB, factorA; // approx = factorB [m, k] · factorA [k, n]
            if (whiten) {
                const at::Tensor S = whitening(x, name, res.warnings);
                const auto [U, sv, Vh] = at::linalg_svd(w.mm(S), false);
                // B = V_kᵀ S⁻¹ (solve instead of inverting)
                const at::Tensor Bt = at::linalg_solve_triangular(S.t(), Vh.narrow(0, 0, k).t(), /*upper=*/true);
                factorB = U.narrow(1, 0, k) * sv.narrow(0, 0, k);
                factorA = Bt.t();
                approx = factorB.mm(factorA);
            } else {
                const auto [U, sv, Vh] = at::linalg_svd(w, false);
                factorB = U.narrow(1, 0, k) * sv.narrow(0, 0, k);
                factorA = Vh.narrow(0, 0, k);
                approx = factorB.mm(factorA);
            }
            const at::Tensor approx32 = approx.to(at::kFloat);
            LowRankLayerResult r;
            r.name = name;
            r.rank = k;
            r.rows = w.size(0);
            r.cols = w.size(1);
            r.params_before = r.rows * r.cols;
            r.params_after = k * (r.rows + r.cols);
            const at::Tensor flat = x.reshape({-1, x.size(-1)});
            const at::Tensor ref = at::linear(flat, w.to(at::kFloat));
            r.output_rel_err = (at::linear(flat, approx32) - ref).norm().item<double>() / std::max(1e-30, ref.norm().item<double>());
            res.params_before += r.params_before;
            res.params_after += r.params_after;
            res.model->replace(name, approx32);
            res.model->setFactors(name, factorB.to(at::kFloat).contiguous(), factorA.to(at::kFloat).contiguous());
            res.layers.push_back(r);
        }
        reportProgress(progress, double(b + 1) / model.nBlocks(), "factorizing block " + std::to_string(b));
    }
    return res;
}

} // namespace tailor
