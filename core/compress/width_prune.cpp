#include "width_prune.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"

#include <ATen/core/grad_mode.h>
#include <algorithm>
#include <numeric>

namespace tailor {

namespace {

struct UnitSums {
    std::vector<double> groups, channels;
};

std::vector<double> toVector(const at::Tensor& t)
{
    const at::Tensor d = t.to(at::kDouble).contiguous();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// Width units come from the role table (arch_table.h): which dimension of
// which tensor is made of KV groups or MLP channels. A unit is a run of
// dimension / units consecutive elements (a group's query heads in q and o,
// its key/value head in k and v, one element for a channel).
bool hasWidthUnit(const TensorRoleInfo& info) { return info.rowUnit != WidthUnit::None || info.colUnit != WidthUnit::None; }
WidthUnit unitOf(const TensorRoleInfo& info, int64_t dim) { return dim == 0 ? info.rowUnit : info.colUnit; }

// Per-unit sums of |W| (grads undefined) or |W ⊙ G| over the unit's weights:
// every tensor dimension made of units, summed over the tensor's other dimension.
UnitSums unitSums(BlockWeights w, const BlockWeights* grads, const ModelConfig& c)
{
    at::NoGradGuard ng;
    BlockWeights g = grads ? *grads : BlockWeights{};
    at::Tensor groups = at::zeros({c.n_head_kv}, at::kDouble), channels = at::zeros({c.intermediate_size}, at::kDouble);
    for (const TensorRoleInfo& info : tensorRoles()) {
        if (!info.perBlock || !hasWidthUnit(info) || !w.slot(info.role)->defined())
            continue;
        at::Tensor a = w.slot(info.role)->detach().to(at::kDouble).abs();
        if (grads)
            a = a * g.slot(info.role)->to(at::kDouble).abs();
        for (int64_t dim = 0; dim < a.dim(); ++dim) {
            const WidthUnit unit = unitOf(info, dim);
            if (unit == WidthUnit::None)
                continue;
            at::Tensor& sums = unit == WidthUnit::KvGroup ? groups : channels;
            const at::Tensor perElement = a.dim() == 1 ? a : a.sum(1 - dim);
            sums += perElement.view({sums.size(0), -1}).sum(1);
        }
    }
    return {toVector(groups), toVector(channels)};
}

BlockWeights gradsOf(BlockWeights& w)
{
    BlockWeights g;
    for (const TensorRoleInfo& info : tensorRoles())
        if (info.perBlock && hasWidthUnit(info) && w.slot(info.role)->defined())
            *g.slot(info.role) = w.slot(info.role)->grad();
    return g;
}

// Taylor: forward storing each block's input, backward through the head, then
// through each block from the last with its weights as fresh leaves, a few
// windows at a time (the scheme of the block Taylor scan, block_importance.cpp).
void scoreTaylor(const Model& model, const TokenWindows& calib, WidthScores& s, const ProgressFn& progress)
{
    const ModelConfig& c = model.config();
    const int L = model.nBlocks();
    const at::Tensor ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong);
    const int64_t N = calib.count, T = calib.seq_len;
    const int64_t chunk = std::max<int64_t>(1, (int64_t(64) << 20) / std::max<int64_t>(1, T * c.vocab_size * 4));
    const RopeTable rope = makeRope(c, T);
    std::vector<at::Tensor> input(static_cast<std::size_t>(L));
    at::Tensor h;
    {
        at::NoGradGuard ng;
        h = model.embed(ids);
        for (int b = 0; b < L; ++b) {
            input[std::size_t(b)] = h;
            h = blockForward(model.block(b), c, h, rope);
        }
    }
    at::AutoGradMode grad(true);
    const at::Tensor norm = model.finalNorm(), head = model.lmHead();
    at::Tensor g = at::empty_like(h);
    for (int64_t b = 0; b < N; b += chunk) {
        const int64_t n = std::min(chunk, N - b);
        at::Tensor hc = h.narrow(0, b, n).detach().requires_grad_(true);
        (meanNllDifferentiable(at::linear(rmsNorm(hc, norm, c.rms_norm_eps), head), ids.narrow(0, b, n)) * (double(n) / double(N)))
            .backward();
        g.narrow(0, b, n).copy_(hc.grad());
    }
    s.groups.assign(std::size_t(L), {});
    s.channels.assign(std::size_t(L), {});
    for (int b = L - 1; b >= 0; --b) {
        BlockWeights w = model.block(b);
        for (auto* t : w.all())
            *t = t->detach().requires_grad_(true);
        at::Tensor gin = at::empty_like(input[std::size_t(b)]);
        for (int64_t k = 0; k < N; k += chunk) {
            const int64_t n = std::min(chunk, N - k);
            at::Tensor hin = input[std::size_t(b)].narrow(0, k, n).detach().requires_grad_(true);
            blockForward(w, c, hin, rope).backward(g.narrow(0, k, n));
            gin.narrow(0, k, n).copy_(hin.grad());
        }
        g = gin;
        input[std::size_t(b)] = at::Tensor();
        const BlockWeights grads = gradsOf(w);
        UnitSums u = unitSums(w, &grads, c);
        s.groups[std::size_t(b)] = std::move(u.groups);
        s.channels[std::size_t(b)] = std::move(u.channels);
        reportProgress(progress, double(L - b) / L, "width Taylor: block " + std::to_string(b));
    }
}

// Minitron: a group's score is the mean over tokens of the L2 norms of its
// heads' attention outputs (the input of o_proj), summed over its heads; a
// channel's the mean |SiLU(gate)·up| (the input of down_proj).
void scoreActivation(const Model& model, const TokenWindows& calib, WidthScores& s, const ProgressFn& progress)
{
    at::NoGradGuard ng;
    const ModelConfig& c = model.config();
    const int L = model.nBlocks();
    const at::Tensor ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong);
    const RopeTable rope = makeRope(c, calib.seq_len);
    at::Tensor h = model.embed(ids);
    s.groups.assign(std::size_t(L), {});
    s.channels.assign(std::size_t(L), {});
    for (int b = 0; b < L; ++b) {
        LinearInputs in;
        h = blockForward(model.block(b), c, h, rope, &in);
        const at::Tensor heads = in.o_in.to(at::kDouble).view({-1, c.n_head_kv, c.n_head / c.n_head_kv, c.head_dim});
        s.groups[std::size_t(b)] = toVector(heads.norm(2, -1).mean(0).sum(-1));
        s.channels[std::size_t(b)] = toVector(in.down_in.to(at::kDouble).abs().reshape({-1, in.down_in.size(-1)}).mean(0));
        reportProgress(progress, double(b + 1) / L, "width activations: block " + std::to_string(b));
    }
}

std::vector<int64_t> keptOf(int64_t n, const std::vector<int>& removed)
{
    std::vector<bool> gone(std::size_t(n), false);
    for (int r : removed)
        gone[std::size_t(r)] = true;
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < n; ++i)
        if (!gone[std::size_t(i)])
            kept.push_back(i);
    return kept;
}

// Element indices of units of `width` consecutive elements.
at::Tensor spans(const std::vector<int64_t>& units, int64_t width)
{
    std::vector<int64_t> idx;
    for (int64_t u : units)
        for (int64_t j = 0; j < width; ++j)
            idx.push_back(u * width + j);
    return at::tensor(idx, at::kLong);
}

// The elements of the given units along a dimension of `size` elements made
// of `unit` (KV groups or channels).
at::Tensor unitElements(WidthUnit unit, const std::vector<int64_t>& groups, const std::vector<int64_t>& channels, int64_t size,
                        const ModelConfig& c)
{
    const bool kv = unit == WidthUnit::KvGroup;
    return spans(kv ? groups : channels, size / (kv ? c.n_head_kv : c.intermediate_size));
}

} // namespace

// The config of the narrower model: whole KV groups and channels fewer; per
// block when the plan's counts differ between blocks.
ModelConfig prunedConfig(const ModelConfig& c, const WidthPlan& plan)
{
    ModelConfig p = c;
    std::vector<int64_t> kv, ff;
    for (std::size_t b = 0; b < plan.groups.size(); ++b) {
        kv.push_back(c.n_head_kv - int64_t(plan.groups[b].size()));
        ff.push_back(c.intermediate_size - int64_t(plan.channels[b].size()));
    }
    p.n_head_kv = *std::max_element(kv.begin(), kv.end());
    p.n_head = p.n_head_kv * (c.n_head / c.n_head_kv);
    p.intermediate_size = *std::max_element(ff.begin(), ff.end());
    if (!plan.uniform()) {
        p.block_n_head_kv = kv;
        p.block_intermediate_size = ff;
    }
    return p;
}

WidthCriterion widthCriterionFromName(const std::string& name)
{
    if (name == "taylor")
        return WidthCriterion::Taylor;
    if (name == "activation")
        return WidthCriterion::Activation;
    if (name == "magnitude")
        return WidthCriterion::Magnitude;
    throw Error("unknown width criterion '" + name + "' (taylor, activation or magnitude)");
}

const char* widthCriterionName(WidthCriterion c)
{
    switch (c) {
    case WidthCriterion::Taylor: return "taylor";
    case WidthCriterion::Activation: return "activation";
    case WidthCriterion::Magnitude: return "magnitude";
    }
    return "?";
}

bool WidthPlan::uniform() const
{
    for (std::size_t b = 1; b < groups.size(); ++b)
        if (groups[b].size() != groups[0].size() || channels[b].size() != channels[0].size())
            return false;
    return true;
}

int64_t WidthPlan::removedHeads(const ModelConfig& c, int block) const
{
    return int64_t(groups[std::size_t(block)].size()) * (c.n_head / c.n_head_kv);
}

WidthScores scoreWidth(const Model& model, const TokenWindows& calib, WidthCriterion criterion, const ProgressFn& progress)
{
    const ModelConfig& c = model.config();
    // a mixture's MLP channels belong to experts a token may not use: not a width unit
    requireDense(c, "width pruning (heads and MLP channels)");
    WidthScores s;
    s.criterion = criterion;
    s.heads_per_group = c.n_head / c.n_head_kv;
    if (criterion != WidthCriterion::Magnitude && calib.count == 0)
        throw Error(std::string(widthCriterionName(criterion)) + " scores need calibration windows");
    if (criterion == WidthCriterion::Taylor)
        scoreTaylor(model, calib, s, progress);
    else if (criterion == WidthCriterion::Activation)
        scoreActivation(model, calib, s, progress);
    else
        for (int b = 0; b < model.nBlocks(); ++b) {
            UnitSums u = unitSums(model.block(b), nullptr, c);
            s.groups.push_back(std::move(u.groups));
            s.channels.push_back(std::move(u.channels));
            reportProgress(progress, double(b + 1) / model.nBlocks(), "width magnitudes: block " + std::to_string(b));
        }
    return s;
}

WidthPlan uniformWidthPlan(const Model& model, const WidthScores& scores, int64_t heads, int64_t channels)
{
    const ModelConfig& c = model.config();
    requireDense(c, "width pruning (heads and MLP channels)");
    const int64_t g = c.n_head / c.n_head_kv;
    if (heads < 0 || channels < 0)
        throw Error("width pruning removes a non-negative number of heads and channels");
    if (heads % g != 0)
        throw Error("--heads " + std::to_string(heads) + " breaks the GQA grouping: " + std::to_string(g) +
                    " query heads share each key/value head, so remove a multiple of " + std::to_string(g));
    if (heads >= c.n_head)
        throw Error("removing " + std::to_string(heads) + " of " + std::to_string(c.n_head) + " heads leaves a block without attention heads");
    if (channels >= c.intermediate_size)
        throw Error("removing " + std::to_string(channels) + " of " + std::to_string(c.intermediate_size) +
                    " MLP channels leaves a block without channels");
    if (int(scores.groups.size()) != model.nBlocks())
        throw Error("width scores for " + std::to_string(scores.groups.size()) + " blocks, the model has " + std::to_string(model.nBlocks()));
    WidthPlan p;
    const auto lowest = [](const std::vector<double>& v, int64_t k) {
        std::vector<int> order(v.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&v](int a, int b) { return v[std::size_t(a)] < v[std::size_t(b)]; });
        std::vector<int> out(order.begin(), order.begin() + k);
        std::sort(out.begin(), out.end());
        return out;
    };
    for (int b = 0; b < model.nBlocks(); ++b) {
        p.groups.push_back(lowest(scores.groups[std::size_t(b)], heads / g));
        p.channels.push_back(lowest(scores.channels[std::size_t(b)], channels));
    }
    return p;
}

WidthPlan rankedWidthPlan(const Model& model, const WidthScores& scores, int64_t heads, int64_t channels)
{
    uniformWidthPlan(model, scores, heads, channels); // its checks of the counts, here on the mean per block
    const int N = model.nBlocks();
    const int64_t g = scores.heads_per_group;
    WidthPlan p;
    p.groups.resize(std::size_t(N));
    p.channels.resize(std::size_t(N));
    // Lowest scores first across all blocks; a block keeps at least one unit
    // of each kind (its last one is never offered).
    const auto take = [N](const std::vector<std::vector<double>>& s, int64_t total, std::vector<std::vector<int>>& out) {
        struct Unit {
            double score;
            int block, index;
        };
        std::vector<Unit> all;
        for (int b = 0; b < N; ++b)
            for (std::size_t i = 0; i < s[std::size_t(b)].size(); ++i)
                all.push_back({s[std::size_t(b)][i], b, int(i)});
        std::stable_sort(all.begin(), all.end(), [](const Unit& a, const Unit& b) { return a.score < b.score; });
        for (const Unit& u : all) {
            if (total == 0)
                break;
            auto& removed = out[std::size_t(u.block)];
            if (removed.size() + 1 >= s[std::size_t(u.block)].size())
                continue;
            removed.push_back(u.index);
            --total;
        }
        for (auto& r : out)
            std::sort(r.begin(), r.end());
    };
    take(scores.groups, heads / g * N, p.groups);
    take(scores.channels, channels * N, p.channels);
    return p;
}

void validateWidthPlan(const Model& model, const WidthPlan& plan)
{
    const ModelConfig& c = model.config();
    if (!c.uniformWidths())
        throw Error("the model's blocks already have different widths: width pruning starts from a model of uniform widths");
    if (int(plan.groups.size()) != model.nBlocks() || int(plan.channels.size()) != model.nBlocks())
        throw Error("the width plan lists " + std::to_string(plan.groups.size()) + " blocks; the model has " +
                    std::to_string(model.nBlocks()));
    for (int b = 0; b < model.nBlocks(); ++b) {
        for (const auto& [units, n, what] : {std::tuple{&plan.groups[std::size_t(b)], c.n_head_kv, "KV group"},
                                             std::tuple{&plan.channels[std::size_t(b)], c.intermediate_size, "MLP channel"}}) {
            std::vector<int> u = *units;
            std::sort(u.begin(), u.end());
            if (std::adjacent_find(u.begin(), u.end()) != u.end())
                throw Error(std::string("block ") + std::to_string(b) + ": a " + what + " is listed twice");
            for (int i : u)
                if (i < 0 || i >= n)
                    throw Error("block " + std::to_string(b) + ": " + what + " " + std::to_string(i) + " does not exist (the model has " +
                                std::to_string(n) + ")");
            if (int64_t(u.size()) >= n)
                throw Error("block " + std::to_string(b) + ": removing every " + what + " leaves nothing");
        }
    }
}

std::shared_ptr<Model> applyWidthPlan(const Model& model, const WidthPlan& plan)
{
    validateWidthPlan(model, plan);
    const ModelConfig& c = model.config();
    std::shared_ptr<Model> out = model.derive();
    for (int b = 0; b < model.nBlocks(); ++b) {
        const std::vector<int64_t> groups = keptOf(c.n_head_kv, plan.groups[std::size_t(b)]);
        const std::vector<int64_t> channels = keptOf(c.intermediate_size, plan.channels[std::size_t(b)]);
        for (TensorRole role : blockRoles(c)) {
            const TensorRoleInfo& info = roleInfo(role);
            if (!hasWidthUnit(info))
                continue;
            const std::string name = hfTensorName(role, b);
            at::Tensor t = model.raw(name);
            for (int64_t dim = 0; dim < t.dim(); ++dim) {
                const WidthUnit unit = unitOf(info, dim);
                if (unit == WidthUnit::None)
                    continue;
                t = t.index_select(dim, unitElements(unit, groups, channels, t.size(dim), c));
            }
            out->replace(name, t.contiguous());
        }
    }
    out->setConfig(prunedConfig(c, plan));
    return out;
}

int64_t parametersAfterWidth(const Model& model, const WidthPlan& plan)
{
    validateWidthPlan(model, plan);
    return prunedConfig(model.config(), plan).totalParameters();
}

std::shared_ptr<Model> maskWidthPlan(const Model& model, const WidthPlan& plan)
{
    validateWidthPlan(model, plan);
    const ModelConfig& c = model.config();
    std::shared_ptr<Model> out = model.derive();
    for (int b = 0; b < model.nBlocks(); ++b) {
        std::vector<int64_t> groups(plan.groups[std::size_t(b)].begin(), plan.groups[std::size_t(b)].end());
        std::vector<int64_t> channels(plan.channels[std::size_t(b)].begin(), plan.channels[std::size_t(b)].end());
        // the columns a removed unit feeds (o's of its heads, down's of its channels)
        for (TensorRole role : blockRoles(c)) {
            const TensorRoleInfo& info = roleInfo(role);
            if (info.colUnit == WidthUnit::None)
                continue;
            const std::string name = hfTensorName(role, b);
            at::Tensor t = model.raw(name).clone();
            const at::Tensor idx = unitElements(info.colUnit, groups, channels, t.size(1), c);
            if (idx.numel() > 0)
                t.index_fill_(1, idx, 0);
            out->replace(name, t);
        }
    }
    return out;
}

} // namespace tailor
