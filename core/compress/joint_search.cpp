#include "joint_search.h"
#include "bit_allocation.h"

#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "core/heal/linear_heal.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace tailor {

namespace {

// One structural choice before the types: nothing, blocks dropped, or MLP channels cut.
struct Arm {
    std::string kind, label;
    std::shared_ptr<Model> model; // the arm's weights (healed / narrowed); dropped blocks are skipped, not removed
    std::vector<int> drop;
    std::optional<WidthPlan> width;
};

std::string blocksText(const std::vector<int>& b)
{
    std::string s;
    for (int x : b)
        s += (s.empty() ? "" : ", ") + std::to_string(x);
    return s;
}

// The kept tensors' options (bytes at the arm's shapes, damage from the dense
// sensitivities) and the bytes the rest of the file costs.
struct ArmItems {
    std::vector<AllocationTensor> items;
    std::vector<std::vector<QuantScheme>> schemes; // per item, per option
    double fixed = 0;
};

ArmItems armItems(const Arm& arm, const std::map<std::string, const TensorSensitivity*>& sens, const BudgetOptions& b)
{
    ArmItems out;
    SchemeByTensor first;
    double firstBytes = 0;
    for (int blk = 0; blk < arm.model->nBlocks(); ++blk) {
        if (std::find(arm.drop.begin(), arm.drop.end(), blk) != arm.drop.end())
            continue;
        for (TensorRole role : linearRoles()) {
            const std::string name = hfTensorName(role, blk);
            const at::Tensor raw = arm.model->raw(name);
            const int64_t rows = raw.size(0), cols = raw.size(1);
            AllocationTensor t{name, {}};
            std::vector<QuantScheme> schemes;
            const auto it = sens.find(name);
            if (it == sens.end())
                throw Error("joint search: no sensitivity measured for " + name);
            for (const SchemeSensitivity& s : it->second->schemes)
                if (schemeFits(s.scheme, cols)) {
                    t.options.push_back({s.scheme.name(), schemeBytes(s.scheme, rows, cols, BudgetTarget::GgufFileBytes), s.kld});
                    schemes.push_back(s.scheme);
                }
            if (t.options.empty())
                throw Error("joint search: " + name + " (" + std::to_string(cols) + " columns after the cut) fits none of the candidate types");
            first[name] = schemes[0];
            firstBytes += t.options[0].bytes;
            out.items.push_back(std::move(t));
            out.schemes.push_back(std::move(schemes));
        }
    }
    out.fixed = fixedFileBytes(*arm.model, first, firstBytes, b, arm.drop);
    return out;
}

// Channels removed per block for a share: whole blocks of the candidate types
// (256 values when the width allows K types, else 32), so every cut row still
// takes the types it took before.
int64_t channelsForShare(int64_t intermediate, double share)
{
    const int64_t unit = intermediate % 256 == 0 ? 256 : 32;
    return int64_t(std::llround(share * double(intermediate) / double(unit))) * unit;
}

std::vector<double> ranks(const std::vector<double>& v)
{
    std::vector<std::size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < idx.size();) {
        std::size_t j = i;
        while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]])
            ++j;
        for (std::size_t k = i; k <= j; ++k)
            r[idx[k]] = 0.5 * double(i + j); // ties share their mean rank
        i = j + 1;
    }
    return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b)
{
    if (a.size() < 2)
        return std::nan("");
    const std::vector<double> ra = ranks(a), rb = ranks(b);
    const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / double(ra.size());
    const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / double(rb.size());
    double num = 0, da = 0, db = 0;
    for (std::size_t i = 0; i < ra.size(); ++i) {
        num += (ra[i] - ma) * (rb[i] - mb);
        da += (ra[i] - ma) * (ra[i] - ma);
        db += (rb[i] - mb) * (rb[i] - mb);
    }
    return da > 0 && db > 0 ? num / std::sqrt(da * db) : std::nan("");
}

TokenWindows firstWindows(const TokenWindows& w, int64_t n)
{
    TokenWindows out = w;
    out.count = std::min(w.count, n);
    out.ids.resize(std::size_t(out.count * out.seq_len));
    return out;
}

} // namespace

JointResult searchJoint(const Model& dense, const TokenWindows& calib, const TokenWindows& evalIn, const JointOptions& opt,
                        const ProgressFn& progress)
{
    requireDense(dense.config(), "the joint size-budget search");
    at::NoGradGuard noGrad;
    const ModelConfig& c = dense.config();
    const TokenWindows& eval = evalIn.count > 0 ? evalIn : calib;
    if (calib.count == 0)
        throw Error("joint search: the calibration text gives no window");
    const int nBlocks = dense.nBlocks();
    const int maxDrop = opt.max_drop >= 0 ? opt.max_drop : nBlocks / 4;
    // candidates for dropping: not the first (a linear map needs a block before
    // the span) and not the last (it writes the logits' input)
    if (opt.depth && (nBlocks < 3 || maxDrop < 1))
        throw Error("joint search: the depth axis does not apply: " + std::to_string(nBlocks) + " blocks leave none to drop " +
                    "besides the first and last");
    if (opt.width && c.intermediate_size < 64)
        throw Error("joint search: the width axis does not apply: an MLP of " + std::to_string(c.intermediate_size) + " channels");
    BudgetOptions bo = opt.budget;
    bo.target = BudgetTarget::GgufFileBytes;
    bo.value = double(opt.target_bytes);

    // 1. The achievable range from shapes alone, before any measurement.
    GgufExportOptions f16;
    f16.type = "f16";
    const uint64_t original = ggufFileSize(dense, {}, f16);
    std::vector<int64_t> cuts;
    if (opt.width)
        for (double share : opt.width_shares) {
            const int64_t k = channelsForShare(c.intermediate_size, share);
            if (k > 0 && k < c.intermediate_size && std::find(cuts.begin(), cuts.end(), k) == cuts.end())
                cuts.push_back(k);
        }
    JointResult res;
    res.target_bytes = opt.target_bytes;
    {
        // the smallest file: the deepest drop (blocks are alike) or the widest cut, every tensor at its smallest type
        std::vector<QuantScheme> candidates;
        for (const auto& n : bo.schemes.empty() ? defaultBudgetSchemes(bo.target) : bo.schemes)
            candidates.push_back(QuantScheme::parse(n));
        auto smallest = [&](const Model& m, const std::vector<int>& drop) {
            SchemeByTensor s;
            for (int blk = 0; blk < m.nBlocks(); ++blk)
                for (TensorRole role : linearRoles()) {
                    const std::string name = hfTensorName(role, blk);
                    const int64_t rows = m.raw(name).size(0), cols = m.raw(name).size(1);
                    double best = 1e300;
                    for (const auto& q : candidates)
                        if (schemeFits(q, cols) && schemeBytes(q, rows, cols, bo.target) < best)
                            best = schemeBytes(q, rows, cols, bo.target), s[name] = q;
                }
            return ggufFileSize(m, drop, schemeExportOptions(m, s, bo, drop));
        };
        uint64_t lo = smallest(dense, {});
        if (opt.depth) {
            std::vector<int> deepest;
            for (int b = 1; b <= maxDrop && b < nBlocks - 1; ++b)
                deepest.push_back(b);
            lo = std::min(lo, smallest(dense, deepest));
        }
        if (!cuts.empty()) {
            WidthPlan w;
            w.groups.assign(std::size_t(nBlocks), {});
            w.channels.assign(std::size_t(nBlocks), {});
            const int64_t k = *std::max_element(cuts.begin(), cuts.end());
            for (auto& ch : w.channels)
                for (int64_t i = 0; i < k; ++i)
                    ch.push_back(int(i));
            lo = std::min(lo, smallest(*applyWidthPlan(dense, w), {}));
        }
        res.min_bytes = lo;
        res.max_bytes = original;
        if (opt.target_bytes < lo || opt.target_bytes >= original)
            throw Error("joint search: a target of " + std::to_string(opt.target_bytes) + " bytes is outside what the axes reach: " +
                        std::to_string(lo) + " to " + std::to_string(original) + " bytes (the F16 file)");
    }

    // 2. Per-tensor type sensitivities of the dense model (calibration).
    const auto stage = [&](double from, double to) {
        return [&, from, to](const Progress& p) { return !progress || progress({from + (to - from) * p.fraction, p.stage}); };
    };
    const std::vector<TensorSensitivity> sens = measureSensitivity(dense, calib, bo, stage(0.0, 0.45));
    std::map<std::string, const TensorSensitivity*> sensByName;
    for (const auto& t : sens)
        sensByName[t.name] = &t;
    const TokenWindows probe = firstWindows(calib, 8); // structural damage: a few windows suffice to rank

    // 3. The arms: quant only; depth (order: KLD of each block dropped alone); width.
    std::vector<Arm> arms;
    arms.push_back({"quant", "types", dense.derive(), {}, std::nullopt});
    if (opt.depth) {
        std::vector<std::pair<double, int>> alone;
        for (int b = 1; b < nBlocks - 1; ++b) {
            FidelityOptions fo;
            fo.model_drop = {b};
            alone.push_back({compareToBase(dense, dense, probe, fo).kld_mean, b});
            reportProgress(progress, 0.45 + 0.1 * double(b) / double(nBlocks), "block " + std::to_string(b) + " dropped alone");
        }
        std::sort(alone.begin(), alone.end());
        for (const auto& [kld, b] : alone)
            res.block_order.push_back(b);
        for (int d = 1; d <= maxDrop && d <= int(alone.size()); ++d) {
            std::vector<int> drop(res.block_order.begin(), res.block_order.begin() + d);
            std::sort(drop.begin(), drop.end());
            std::shared_ptr<Model> m = dense.derive();
            if (opt.linear_heal)
                m = healLinear(dense, dense, drop, opt.heal_windows ? *opt.heal_windows : calib, LinearHealOptions{}).model;
            arms.push_back({"depth+quant", "drop " + blocksText(drop) + (opt.linear_heal ? " (linear heal)" : "") + " + types", m, drop,
                            std::nullopt});
        }
    }
    if (!cuts.empty()) {
        const WidthScores scores = scoreWidth(dense, probe, WidthCriterion::Activation);
        for (int64_t k : cuts) {
            const WidthPlan w = uniformWidthPlan(dense, scores, 0, k);
            arms.push_back({"width+quant", "MLP -" + std::to_string(k) + " channels + types", applyWidthPlan(dense, w), {}, w});
        }
    }

    // 4. Per arm: its structural KLD, measured once.
    std::vector<double> structural(arms.size(), 0.0);
    std::vector<ArmItems> armTypes;
    for (std::size_t a = 0; a < arms.size(); ++a) {
        reportProgress(progress, 0.55 + 0.1 * double(a) / double(arms.size()), "measuring " + arms[a].label + " alone");
        if (arms[a].kind != "quant") {
            FidelityOptions fo;
            fo.model_drop = arms[a].drop;
            structural[a] = compareToBase(dense, *arms[a].model, probe, fo).kld_mean;
        }
        armTypes.push_back(armItems(arms[a], sensByName, bo));
    }
    // The types for the bytes an arm leaves at a size, and the prediction; nullopt when the arm does not reach it.
    const auto planAt = [&](std::size_t a, uint64_t target, std::vector<std::string>* notes) -> std::optional<JointPlan> {
        const Arm& arm = arms[a];
        const ArmItems& items = armTypes[a];
        const double budget = double(target) - items.fixed;
        if (budget < minimumBytes(items.items)) {
            if (notes)
                notes->push_back(arm.label + ": does not reach the target (at least " +
                                 std::to_string(uint64_t(minimumBytes(items.items) + items.fixed)) + " bytes)");
            return std::nullopt;
        }
        JointPlan p;
        p.kind = arm.kind;
        p.label = arm.label;
        p.drop = arm.drop;
        p.width = arm.width;
        p.structural_kld = structural[a];
        const Allocation alloc = allocate(items.items, budget);
        for (std::size_t i = 0; i < items.items.size(); ++i)
            p.scheme[items.items[i].name] = items.schemes[i][std::size_t(alloc.choice[i])];
        p.tensor_types = ggufTensorTypes(*arm.model, p.scheme, arm.drop);
        p.file_bytes = ggufFileSize(*arm.model, arm.drop, schemeExportOptions(*arm.model, p.scheme, bo, arm.drop));
        if (p.file_bytes > target) { // (the knapsack rounds bytes up, so this does not happen)
            if (notes)
                notes->push_back(arm.label + ": " + std::to_string(p.file_bytes) + " bytes exceed the target");
            return std::nullopt;
        }
        p.predicted_kld = p.structural_kld + alloc.damage;
        return p;
    };
    std::vector<double> predicted, measured;
    const auto measure = [&](JointPlan& p, const ProgressFn& pf) {
        const auto arm = std::find_if(arms.begin(), arms.end(), [&](const Arm& x) { return x.label == p.label; });
        const auto q = ggufQuantizedModel(*arm->model, p.drop, schemeExportOptions(*arm->model, p.scheme, bo, p.drop));
        FidelityOptions fo;
        fo.model_drop = p.drop;
        fo.batch_tokens = bo.batch_tokens;
        p.result = compareToBase(dense, *q, eval, fo, pf);
        if (opt.task_accuracy)
            p.task_acc = opt.task_accuracy(*q, p.drop);
        p.measured = true;
        predicted.push_back(p.predicted_kld);
        measured.push_back(p.result.kld_mean);
    };

    // 5. At the target: every arm predicted; the quant-only plan and the best predicted others measured.
    for (std::size_t a = 0; a < arms.size(); ++a)
        if (auto p = planAt(a, opt.target_bytes, &res.warnings))
            res.plans.push_back(std::move(*p));
    if (res.plans.empty())
        throw Error("joint search: no arm reaches " + std::to_string(opt.target_bytes) + " bytes");
    std::stable_sort(res.plans.begin(), res.plans.end(),
                     [](const JointPlan& x, const JointPlan& y) { return x.predicted_kld < y.predicted_kld; });
    std::vector<std::size_t> toMeasure;
    int others = 0;
    for (std::size_t i = 0; i < res.plans.size(); ++i)
        if (res.plans[i].kind == "quant" || others++ < opt.measure)
            toMeasure.push_back(i);
    const double measureShare = opt.frontier_bytes.empty() ? 0.35 : 0.15;
    for (std::size_t n = 0; n < toMeasure.size(); ++n) {
        JointPlan& p = res.plans[toMeasure[n]];
        measure(p, stage(0.65 + measureShare * double(n) / double(toMeasure.size()), 0.65 + measureShare * double(n + 1) / double(toMeasure.size())));
        if (res.chosen < 0 || p.result.kld_mean < res.plans[std::size_t(res.chosen)].result.kld_mean)
            res.chosen = int(toMeasure[n]);
    }

    // 6. The frontier: at each other size, the best predicted plan of each kind, measured.
    std::vector<uint64_t> sizes;
    for (uint64_t b : opt.frontier_bytes)
        if (b >= res.min_bytes && b < res.max_bytes && b != opt.target_bytes)
            sizes.push_back(b);
    std::sort(sizes.begin(), sizes.end());
    for (std::size_t k = 0; k < sizes.size(); ++k) {
        std::map<std::string, JointPlan> best;
        for (std::size_t a = 0; a < arms.size(); ++a)
            if (auto p = planAt(a, sizes[k], nullptr)) {
                auto it = best.find(p->kind);
                if (it == best.end() || p->predicted_kld < it->second.predicted_kld)
                    best[p->kind] = std::move(*p);
            }
        // a plan already measured (the types saturate above the largest useful size) is not measured again
        for (auto it = best.begin(); it != best.end();) {
            const auto same = [&](const JointPlan& q) { return q.measured && q.label == it->second.label && q.file_bytes == it->second.file_bytes; };
            if (std::any_of(res.frontier.begin(), res.frontier.end(), same) || std::any_of(res.plans.begin(), res.plans.end(), same))
                it = best.erase(it);
            else
                ++it;
        }
        std::size_t n = 0;
        for (auto& [kind, p] : best) {
            const double from = 0.8 + 0.2 * (double(k) + double(n) / double(best.size())) / double(sizes.size());
            measure(p, stage(from, from + 0.2 / double(sizes.size() * best.size())));
            res.frontier.push_back(std::move(p));
            ++n;
        }
    }
    res.plans[std::size_t(res.chosen)].chosen = true;
    res.rank_correlation = spearman(predicted, measured);
    return res;
}

CompressionPlan withJointPlan(CompressionPlan base, const JointPlan& p, const JointOptions& opt)
{
    base.drop_blocks = p.drop;
    base.width = p.width;
    base.width_criterion = p.width ? widthCriterionName(WidthCriterion::Activation) : ""; // the search's scores
    base.ranks.clear();
    base.quant.reset();
    base.heal.reset();
    if (!p.drop.empty() && opt.linear_heal) {
        if (base.calib.empty())
            throw Error("a joint plan with dropped blocks is healed on the calibration text: the plan has none");
        PlanHeal h;
        h.method = "linear";
        h.text = base.calib;
        base.heal = h;
    }
    PlanGguf g = base.gguf.value_or(PlanGguf{});
    g.type = opt.budget.base_type;
    g.tensor_types = p.tensor_types;
    base.gguf = g;
    return base;
}

} // namespace tailor
