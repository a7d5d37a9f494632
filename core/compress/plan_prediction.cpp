#include "plan_prediction.h"
#include "core/analysis/block_importance.h"
#include "core/compress/width_prune.h"
#include "core/model/arch_table.h"
#include "core/model/model_config.h"
#include "core/model/model_session.h"
#include "core/model/model.h"
#include "core/quant/quant_scheme.h"

#include <algorithm>

#include <map>
#include <set>

namespace tailor {

namespace {

// A tensor's shape after the width stage: the narrower config's shape for
// its role in its block (the arch table's rule, as the pruned checkpoint is
// validated against); tensors outside the blocks keep theirs.
std::vector<int64_t> shapeAfterWidth(const ModelConfig& narrow, const TensorSummary& t)
{
    if (t.block < 0)
        return t.shape;
    for (TensorRole role : blockRoles(narrow))
        if (hfTensorName(role, t.block) == t.name)
            return expectedShape(narrow, role, t.block);
    return t.shape;
}

} // namespace

PlanPrediction predictPlan(const ModelSession& session, const CompressionPlan& plan)
{
    const Model& model = session.model();
    plan.validate(model);
    const ModelSummary& s = session.summary();
    const ModelConfig narrow = plan.width ? prunedConfig(model.config(), *plan.width) : model.config();
    auto dropped = [&](int b) { return std::find(plan.drop_blocks.begin(), plan.drop_blocks.end(), b) != plan.drop_blocks.end(); };

    // expert pruning: the removed experts' tensors go, the router keeps a row per kept expert
    // (a count chosen at apply time removes as many, whichever they are)
    std::set<std::string> goneExperts;
    std::map<std::string, int64_t> routerRows;
    if (plan.experts) {
        const ModelConfig& c = model.config();
        for (int b = 0; b < int(c.n_layer); ++b) {
            std::vector<int> kept = plan.experts->keep.empty() ? std::vector<int>() : plan.experts->keep[std::size_t(b)];
            for (int x = 0; plan.experts->keep.empty() && x < int(plan.experts->keep_count); ++x)
                kept.push_back(x);
            for (int x = 0; x < int(c.n_expert); ++x)
                if (std::find(kept.begin(), kept.end(), x) == kept.end())
                    for (TensorRole role : expertRoles())
                        goneExperts.insert(hfTensorName(c, role, b, x));
            routerRows[hfTensorName(c, TensorRole::FfnGateInp, b)] = int64_t(kept.size());
        }
    }

    PlanPrediction p;
    p.quantized = plan.quant.has_value();
    p.parameters_before = s.parameters;
    double bits = 0;
    for (const auto& t : s.tensors) {
        if ((t.block >= 0 && dropped(t.block)) || goneExperts.count(t.name))
            continue;
        std::vector<int64_t> shape = shapeAfterWidth(narrow, t);
        if (const auto r = routerRows.find(t.name); r != routerRows.end())
            shape[0] = r->second;
        const bool matrix = shape.size() == 2;
        const int64_t rows = matrix ? shape[0] : 0, cols = matrix ? shape[1] : 0;
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        if (const auto r = plan.ranks.find(t.name); r != plan.ranks.end() && matrix)
            n = r->second * (rows + cols);
        p.parameters_after += n;
        // a mixed plan gives each layer its own scheme; "" = stays as it is
        const std::optional<QuantScheme> scheme = p.quantized && matrix && t.block >= 0 ? plan.quant->schemeFor(t.name) : std::nullopt;
        // as applyPlan stores it: a quantized low-rank layer is multiplied back first
        bits += !scheme ? double(n) * 16.0 : double(rows * cols) * scheme->bitsPerWeight(cols);
    }
    p.bytes = bits / 8;
    const DropSavings d = dropSavings(model, plan.drop_blocks);
    p.decode_speedup = 1.0 / std::max(1e-9, 1.0 - d.flop_reduction);
    return p;
}

} // namespace tailor
