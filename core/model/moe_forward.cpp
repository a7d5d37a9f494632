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

at::Tensor expertForward(const BlockWeights::Expert& e, const at::Tensor& x)
{
    return at::linear(at::silu(at::linear(x, e.gate)) * at::linear(x, e.up), e.down);
}

at::Tensor moeForward(const BlockWeights& w, const ModelConfig& c, const at::Tensor& y)
{
    const int64_t H = y.size(-1);
    const at::Tensor x = y.reshape({-1, H});
    const Routing r = routeTokens(w.router, c, x);
    at::Tensor out = at::zeros_like(x);
    // per expert, the (token, slot) pairs that chose it: one gather, one
    // product over just those tokens, one scatter-add
    const at::Tensor flat = r.experts.reshape({-1});
    const int64_t k = r.experts.size(1);
    for (int64_t e = 0; e < int64_t(w.experts.size()); ++e) {
        const at::Tensor pick = (flat == e).nonzero().squeeze(-1);
        if (pick.numel() == 0)
            continue;
        const at::Tensor tokens = at::floor_divide(pick, k);
        const at::Tensor weight = r.weights.reshape({-1}).index_select(0, pick).unsqueeze(-1);
        const at::Tensor contrib = expertForward(w.experts[std::size_t(e)], x.index_select(0, tokens)) * weight;
        out = out.index_add(0, tokens, contrib);
    }
    return out.view(y.sizes());
}

} // namespace tailor
