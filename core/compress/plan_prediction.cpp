#include "plan_prediction.h"
#include "core/analysis/block_importance.h"
#include "core/model/model_config.h"
#include "core/model/model_session.h"
#include "core/model/model.h"
#include "core/quant/quant_scheme.h"

#include <algorithm>

namespace tailor {

namespace {

// The share of a tensor's rows (q k v gate up) or columns (o down) a width
// plan keeps in its block; 1 outside the plan.
struct WidthShare {
    double rows = 1, cols = 1;
};

WidthShare widthShare(const ModelConfig& c, const WidthPlan* w, const TensorSummary& t)
{
    if (!w || t.block < 0 || t.block >= int(w->groups.size()))
        return {};
    const int b = t.block;
    const double heads = 1.0 - double(w->removedHeads(c, b)) / double(c.heads(b));
    const double groups = 1.0 - double(w->groups[std::size_t(b)].size()) / double(c.headsKv(b));
    const double channels = 1.0 - double(w->channels[std::size_t(b)].size()) / double(c.intermediate(b));
    if (t.kind == "q")
        return {heads, 1};
    if (t.kind == "k" || t.kind == "v")
        return {groups, 1};
    if (t.kind == "o")
        return {1, heads};
    if (t.kind == "gate" || t.kind == "up")
        return {channels, 1};
    if (t.kind == "down")
        return {1, channels};
    return {};
}

} // namespace

PlanPrediction predictPlan(const ModelSession& session, const CompressionPlan& plan)
{
    const Model& model = session.model();
    plan.validate(model);
    const ModelConfig& c = model.config();
    const ModelSummary& s = session.summary();
    const WidthPlan* width = plan.width ? &*plan.width : nullptr;
    auto dropped = [&](int b) { return std::find(plan.drop_blocks.begin(), plan.drop_blocks.end(), b) != plan.drop_blocks.end(); };

    PlanPrediction p;
    p.quantized = plan.quant.has_value();
    p.parameters_before = s.parameters;
    double bits = 0;
    for (const auto& t : s.tensors) {
        if (t.block >= 0 && dropped(t.block))
            continue;
        const WidthShare w = widthShare(c, width, t);
        const bool matrix = t.shape.size() == 2;
        const int64_t rows = matrix ? int64_t(double(t.shape[0]) * w.rows + 0.5) : 0;
        const int64_t cols = matrix ? int64_t(double(t.shape[1]) * w.cols + 0.5) : 0;
        int64_t n = matrix ? rows * cols : int64_t(double(t.parameters) * w.rows + 0.5);
        if (const auto r = plan.ranks.find(t.name); r != plan.ranks.end() && matrix)
            n = r->second * (rows + cols);
        p.parameters_after += n;
        // a mixed plan gives each layer its own scheme; "" = stays as it is
        const std::string scheme = p.quantized && matrix && t.block >= 0 ? plan.quant->schemeFor(t.name) : std::string();
        // as applyPlan stores it: a quantized low-rank layer is multiplied back first
        bits += scheme.empty() ? double(n) * 16.0 : double(rows * cols) * QuantScheme::parse(scheme).bitsPerWeight(cols);
    }
    p.bytes = bits / 8;
    const DropSavings d = dropSavings(model, plan.drop_blocks);
    p.decode_speedup = 1.0 / std::max(1e-9, 1.0 - d.flop_reduction);
    return p;
}

} // namespace tailor
