#include "moe_forward.h"

namespace tailor {

Routing routeTokens(const at::Tensor& router, const ModelConfig& c, const at::Tensor& x)
{
    Routing r;
    r.probs = at::softmax(at::linear(x, router), -1);
    const auto [top, index] = at::topk(r.probs, c.n_expert_used, -1);
    r.experts = index;
    // Mixtral's softmax over the top-k logits equals the full softmax
    // renormalised over the k chosen, which is Qwen3-MoE's norm_topk_prob.
    r.weights = c.norm_topk_prob ? top / top.sum(-1, true) : top;
    return r;
}

RoutedTo routedTo(const Routing& r, int64_t e)
{
    RoutedTo t;
    t.choice = (r.experts.reshape({-1}) == e).nonzero().squeeze(-1);
    t.token = at::floor_divide(t.choice, r.experts.size(1));
    return t;
}

at::Tensor expertActivation(const BlockWeights::Expert& e, const at::Tensor& x)
{
    return at::silu(at::linear(x, e.gate)) * at::linear(x, e.up);
}

at::Tensor expertForward(const BlockWeights::Expert& e, const at::Tensor& x)
{
    return at::linear(expertActivation(e, x), e.down);
}

at::Tensor moeForward(const BlockWeights& w, const ModelConfig& c, const at::Tensor& y)
{
    const int64_t H = y.size(-1);
    const at::Tensor x = y.reshape({-1, H});
    const Routing r = routeTokens(w.router, c, x);
    at::Tensor out = at::zeros_like(x);
    // per expert, the (token, slot) pairs that chose it: one gather, one
    // product over just those tokens, one scatter-add
    for (int64_t e = 0; e < int64_t(w.experts.size()); ++e) {
        const RoutedTo to = routedTo(r, e);
        if (to.choice.numel() == 0)
            continue;
        const at::Tensor weight = r.weights.reshape({-1}).index_select(0, to.choice).unsqueeze(-1);
        const at::Tensor contrib = expertForward(w.experts[std::size_t(e)], x.index_select(0, to.token)) * weight;
        out = out.index_add(0, to.token, contrib);
    }
    return out.view(y.sizes());
}

std::vector<BlockLinear> blockLinears(const BlockWeights& w, const ModelConfig& c, int block, const LinearInputs* in)
{
    std::vector<BlockLinear> out;
    for (TensorRole role : linearRoles()) {
        if (w.isMoe() && (role == TensorRole::FfnGate || role == TensorRole::FfnUp || role == TensorRole::FfnDown))
            continue;
        out.push_back({role, hfTensorName(c, role, block), -1, w.get(role), in ? in->forRole(role) : at::Tensor()});
    }
    if (!w.isMoe())
        return out;
    const bool have = in && in->mlp_in.defined();
    const at::Tensor y = have ? in->mlp_in.reshape({-1, c.hidden_size}) : at::Tensor();
    Routing r;
    if (have)
        r = routeTokens(w.router, c, y);
    for (int e = 0; e < int(w.experts.size()); ++e) {
        const BlockWeights::Expert& ex = w.experts[std::size_t(e)];
        at::Tensor x, act;
        if (have) {
            x = y.index_select(0, routedTo(r, e).token);
            act = expertActivation(ex, x);
        }
        out.push_back({TensorRole::FfnGateExps, hfTensorName(c, TensorRole::FfnGateExps, block, e), e, ex.gate, x});
        out.push_back({TensorRole::FfnUpExps, hfTensorName(c, TensorRole::FfnUpExps, block, e), e, ex.up, x});
        out.push_back({TensorRole::FfnDownExps, hfTensorName(c, TensorRole::FfnDownExps, block, e), e, ex.down, act});
    }
    return out;
}

} // namespace tailor
