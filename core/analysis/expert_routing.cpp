#include "expert_routing.h"
#include "core/model/llama_forward.h"
#include "core/model/moe_forward.h"
#include "core/util/error.h"

#include <QJsonArray>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <numeric>

namespace tailor {

std::vector<int> ExpertRouting::neverChosen(int b) const
{
    std::vector<int> out;
    for (int e = 0; e < int(experts); ++e)
        if (count[std::size_t(b)][std::size_t(e)] == 0)
            out.push_back(e);
    return out;
}

QJsonObject ExpertRouting::toJson() const
{
    QJsonArray blocksOut;
    for (int b = 0; b < int(blocks); ++b) {
        QJsonArray c, f, p, s, never;
        for (int e = 0; e < int(experts); ++e) {
            c.append(double(count[b][e]));
            f.append(frequency(b, e));
            p.append(mean_prob[b][e]);
            s.append(reap[b][e]);
        }
        for (int e : neverChosen(b))
            never.append(e);
        blocksOut.append(QJsonObject{{"block", b}, {"count", c}, {"frequency", f}, {"mean_router_weight", p}, {"reap", s},
                                     {"never_chosen", never}});
    }
    return QJsonObject{{"experts", double(experts)}, {"experts_per_token", double(used)}, {"tokens", double(tokens)},
                       {"blocks", blocksOut}};
}

ExpertRouting measureRouting(const Model& model, const TokenWindows& calib, const ProgressFn& progress)
{
    const ModelConfig& c = model.config();
    if (!c.isMoe())
        throw Error("routing statistics: this " + c.model_type + " model has no experts (a dense model routes nothing)");
    at::NoGradGuard noGrad;
    ExpertRouting r;
    r.blocks = c.n_layer;
    r.experts = c.n_expert;
    r.used = c.n_expert_used;
    r.count.assign(std::size_t(r.blocks), std::vector<int64_t>(std::size_t(r.experts), 0));
    r.mean_prob.assign(std::size_t(r.blocks), std::vector<double>(std::size_t(r.experts), 0.0));
    r.reap = r.mean_prob;
    const at::Tensor ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong).clone();
    const RopeTable rope = makeRope(c, calib.seq_len);
    at::Tensor h = model.embed(ids);
    r.tokens = ids.numel();
    for (int b = 0; b < int(r.blocks); ++b) {
        reportProgress(progress, double(b) / double(r.blocks), "routing, block " + std::to_string(b));
        const BlockWeights w = model.block(b);
        LinearInputs in;
        const at::Tensor next = blockForward(w, c, h, rope, &in);
        const at::Tensor y = in.mlp_in.reshape({-1, c.hidden_size});
        const Routing route = routeTokens(w.router, c, y);
        const at::Tensor probSum = route.probs.to(at::kDouble).sum(0);
        const at::Tensor weights = route.weights.reshape({-1});
        for (int64_t e = 0; e < r.experts; ++e) {
            r.mean_prob[b][e] = probSum[e].item<double>() / double(r.tokens);
            const RoutedTo to = routedTo(route, e);
            r.count[b][e] = to.choice.numel();
            if (to.choice.numel() == 0)
                continue;
            const at::Tensor out = expertForward(w.experts[std::size_t(e)], y.index_select(0, to.token));
            r.reap[b][e] = (weights.index_select(0, to.choice).to(at::kDouble) * out.to(at::kDouble).norm(2, {1})).mean().item<double>();
        }
        h = next;
    }
    reportProgress(progress, 1.0, "routing");
    return r;
}

ExpertCriterion expertCriterionFromName(const std::string& name)
{
    if (name == "freq" || name == "frequency")
        return ExpertCriterion::Frequency;
    if (name == "reap")
        return ExpertCriterion::Reap;
    throw Error("expert criterion '" + name + "' is not known (freq: how often the router chooses an expert; reap: the "
                "router-weighted size of its output)");
}

const char* expertCriterionName(ExpertCriterion c)
{
    return c == ExpertCriterion::Reap ? "reap" : "freq";
}

std::vector<std::vector<int>> expertsToKeep(const ExpertRouting& r, int64_t keep, ExpertCriterion c, bool keepMostUsed)
{
    if (keep < 1)
        throw Error("keeping " + std::to_string(keep) + " experts a block leaves no MLP: keep at least 1");
    if (keep > r.experts)
        throw Error("keeping " + std::to_string(keep) + " experts a block, but the model has " + std::to_string(r.experts));
    std::vector<std::vector<int>> out;
    for (int b = 0; b < int(r.blocks); ++b) {
        std::vector<int> order(std::size_t(r.experts));
        std::iota(order.begin(), order.end(), 0);
        const auto score = [&](int e) { return c == ExpertCriterion::Reap ? r.reap[b][e] : double(r.count[b][e]); };
        std::stable_sort(order.begin(), order.end(), [&](int a, int e) {
            return keepMostUsed ? score(a) > score(e) : score(a) < score(e);
        });
        std::vector<int> kept(order.begin(), order.begin() + keep);
        std::sort(kept.begin(), kept.end());
        out.push_back(kept);
    }
    return out;
}

} // namespace tailor
