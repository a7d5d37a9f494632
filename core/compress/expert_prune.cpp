#include "expert_prune.h"
#include "core/model/arch_table.h"
#include "core/model/model.h"
#include "core/util/error.h"

#include <set>

namespace tailor {

void validateExpertKeep(const Model& model, const std::vector<std::vector<int>>& keep)
{
    const ModelConfig& c = model.config();
    if (!c.isMoe())
        throw Error("expert pruning: this " + c.model_type + " model has no experts");
    if (int64_t(keep.size()) != c.n_layer)
        throw Error("expert pruning: the plan lists kept experts for " + std::to_string(keep.size()) + " blocks, the model has " +
                    std::to_string(c.n_layer));
    for (std::size_t b = 0; b < keep.size(); ++b) {
        const std::string where = "expert pruning, block " + std::to_string(b) + ": ";
        if (keep[b].empty())
            throw Error(where + "keeping zero experts leaves the block no MLP; keep at least " + std::to_string(c.n_expert_used));
        if (keep[b].size() != keep[0].size())
            throw Error(where + "keeps " + std::to_string(keep[b].size()) + " experts but block 0 keeps " +
                        std::to_string(keep[0].size()) + " (llama.cpp's GGUF holds one expert count for every block)");
        if (int64_t(keep[b].size()) < c.n_expert_used)
            throw Error(where + "keeps " + std::to_string(keep[b].size()) + " experts, fewer than the " +
                        std::to_string(c.n_expert_used) + " each token uses (num_experts_per_tok)");
        std::set<int> seen;
        for (int e : keep[b]) {
            if (e < 0 || e >= c.n_expert)
                throw Error(where + "expert " + std::to_string(e) + " does not exist (the model has " + std::to_string(c.n_expert) + ")");
            if (!seen.insert(e).second)
                throw Error(where + "expert " + std::to_string(e) + " is listed twice");
        }
    }
}

int64_t parametersAfterExperts(const Model& model, int64_t keep)
{
    ModelConfig c = model.config();
    c.n_expert = keep;
    return c.totalParameters();
}

std::shared_ptr<Model> pruneExperts(const Model& model, const std::vector<std::vector<int>>& keep)
{
    validateExpertKeep(model, keep);
    const ModelConfig& c = model.config();
    auto out = model.derive();
    for (int b = 0; b < int(c.n_layer); ++b) {
        std::vector<int> kept(keep[std::size_t(b)].begin(), keep[std::size_t(b)].end());
        std::sort(kept.begin(), kept.end());
        // read every kept tensor before renaming any (new slot j may be old slot k ≠ j)
        std::vector<at::Tensor> moved;
        for (int e : kept)
            for (TensorRole role : expertRoles())
                moved.push_back(model.raw(hfTensorName(c, role, b, e)));
        const std::string router = hfTensorName(c, TensorRole::FfnGateInp, b);
        const at::Tensor index = at::tensor(std::vector<int64_t>(kept.begin(), kept.end()), at::kLong);
        out->replace(router, model.raw(router).index_select(0, index).contiguous());
        std::size_t i = 0;
        for (std::size_t j = 0; j < kept.size(); ++j)
            for (TensorRole role : expertRoles())
                out->replace(hfTensorName(c, role, b, int(j)), moved[i++]);
    }
    ModelConfig pruned = c;
    pruned.n_expert = int64_t(keep[0].size());
    out->setConfig(pruned);
    return out;
}

} // namespace tailor
