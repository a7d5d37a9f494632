#include "arch_table.h"

#include <cstdio>
#include "core/util/error.h"

#include <cstdlib>

namespace tailor {

const std::vector<TensorRoleInfo>& tensorRoles()
{
    static const std::vector<TensorRoleInfo> rows = {
        {TensorRole::TokenEmbd, "model.embed_tokens.weight", "token_embd.weight", "embed", false, false},
        {TensorRole::OutputNorm, "model.norm.weight", "output_norm.weight", "norm", false, false},
        {TensorRole::Output, "lm_head.weight", "output.weight", "lm_head", false, false},
        {TensorRole::AttnNorm, "model.layers.{bid}.input_layernorm.weight", "blk.%d.attn_norm.weight", "attn_norm", true, false},
        {TensorRole::AttnQ, "model.layers.{bid}.self_attn.q_proj.weight", "blk.%d.attn_q.weight", "q", true, true, WidthUnit::KvGroup},
        {TensorRole::AttnK, "model.layers.{bid}.self_attn.k_proj.weight", "blk.%d.attn_k.weight", "k", true, true, WidthUnit::KvGroup},
        {TensorRole::AttnV, "model.layers.{bid}.self_attn.v_proj.weight", "blk.%d.attn_v.weight", "v", true, true, WidthUnit::KvGroup},
        {TensorRole::AttnO, "model.layers.{bid}.self_attn.o_proj.weight", "blk.%d.attn_output.weight", "o", true, true, WidthUnit::None, WidthUnit::KvGroup},
        {TensorRole::AttnQBias, "model.layers.{bid}.self_attn.q_proj.bias", "blk.%d.attn_q.bias", "q_bias", true, false, WidthUnit::KvGroup},
        {TensorRole::AttnKBias, "model.layers.{bid}.self_attn.k_proj.bias", "blk.%d.attn_k.bias", "k_bias", true, false, WidthUnit::KvGroup},
        {TensorRole::AttnVBias, "model.layers.{bid}.self_attn.v_proj.bias", "blk.%d.attn_v.bias", "v_bias", true, false, WidthUnit::KvGroup},
        {TensorRole::AttnQNorm, "model.layers.{bid}.self_attn.q_norm.weight", "blk.%d.attn_q_norm.weight", "q_norm", true, false},
        {TensorRole::AttnKNorm, "model.layers.{bid}.self_attn.k_norm.weight", "blk.%d.attn_k_norm.weight", "k_norm", true, false},
        {TensorRole::FfnNorm, "model.layers.{bid}.post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", "ffn_norm", true, false},
        {TensorRole::FfnGate, "model.layers.{bid}.mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", "gate", true, true, WidthUnit::Channel},
        {TensorRole::FfnUp, "model.layers.{bid}.mlp.up_proj.weight", "blk.%d.ffn_up.weight", "up", true, true, WidthUnit::Channel},
        {TensorRole::FfnDown, "model.layers.{bid}.mlp.down_proj.weight", "blk.%d.ffn_down.weight", "down", true, true, WidthUnit::None, WidthUnit::Channel},
        // HF names of the mixture roles come from the family row (hfTensorName(c, ...))
        {TensorRole::FfnGateInp, "", "blk.%d.ffn_gate_inp.weight", "router", true, false},
        {TensorRole::FfnGateExps, "", "blk.%d.ffn_gate_exps.weight", "gate_exps", true, false, WidthUnit::None, WidthUnit::None, true},
        {TensorRole::FfnUpExps, "", "blk.%d.ffn_up_exps.weight", "up_exps", true, false, WidthUnit::None, WidthUnit::None, true},
        {TensorRole::FfnDownExps, "", "blk.%d.ffn_down_exps.weight", "down_exps", true, false, WidthUnit::None, WidthUnit::None, true},
    };
    return rows;
}

const std::vector<ArchFamily>& archFamilies()
{
    static const std::vector<ArchFamily> rows = {
        // model_type  gguf arch  qkv_bias qk_norm permute_qk pre
        {"llama", "llama", false, false, true, "", "deci"},   // Llama 2/3, TinyLlama, SmolLM
        {"mistral", "llama", false, false, true, "", "deci"}, // llama.cpp runs Mistral as llama
        {"qwen2", "qwen2", true, false, false, "qwen2", ""},
        {"qwen3", "qwen3", false, true, false, "qwen2", ""}, // same tokenizer family as Qwen2
        // mixtures of experts (#30)
        {"qwen3_moe", "qwen3moe", false, true, false, "qwen2", "", true, "num_experts", "moe_intermediate_size", false,
         "model.layers.{bid}.mlp.gate.weight", "model.layers.{bid}.mlp.experts.{xid}.gate_proj.weight",
         "model.layers.{bid}.mlp.experts.{xid}.up_proj.weight", "model.layers.{bid}.mlp.experts.{xid}.down_proj.weight"},
        // llama.cpp runs Mixtral as llama with experts; its router is a softmax over the top k
        {"mixtral", "llama", false, false, true, "", "", true, "num_local_experts", "intermediate_size", true,
         "model.layers.{bid}.block_sparse_moe.gate.weight", "model.layers.{bid}.block_sparse_moe.experts.{xid}.w1.weight",
         "model.layers.{bid}.block_sparse_moe.experts.{xid}.w3.weight", "model.layers.{bid}.block_sparse_moe.experts.{xid}.w2.weight"},
    };
    return rows;
}

const ArchFamily* archFamily(const std::string& modelType)
{
    for (const auto& f : archFamilies())
        if (modelType == f.model_type)
            return &f;
    return nullptr;
}

std::string supportedModelTypes()
{
    std::string s;
    const auto& rows = archFamilies();
    for (std::size_t i = 0; i < rows.size(); ++i)
        s += std::string(i == 0 ? "" : i + 1 == rows.size() ? " and " : ", ") + rows[i].model_type;
    return s;
}

std::vector<std::string> blockLinearKinds()
{
    std::vector<std::string> kinds;
    for (const auto& info : tensorRoles())
        if (info.perBlock && info.isLinear)
            kinds.push_back(info.kind);
    return kinds;
}

const TensorRoleInfo& roleInfo(TensorRole role)
{
    for (const auto& r : tensorRoles())
        if (r.role == role)
            return r;
    throw Error("unknown tensor role");
}

std::vector<TensorRole> blockRoles(const ModelConfig& c)
{
    std::vector<TensorRole> roles = {TensorRole::AttnNorm, TensorRole::AttnQ, TensorRole::AttnK,
                                     TensorRole::AttnV, TensorRole::AttnO};
    if (c.attention_bias)
        roles.insert(roles.end(), {TensorRole::AttnQBias, TensorRole::AttnKBias, TensorRole::AttnVBias});
    if (c.qk_norm)
        roles.insert(roles.end(), {TensorRole::AttnQNorm, TensorRole::AttnKNorm});
    if (c.isMoe())
        roles.insert(roles.end(), {TensorRole::FfnNorm, TensorRole::FfnGateInp});
    else
        roles.insert(roles.end(), {TensorRole::FfnNorm, TensorRole::FfnGate, TensorRole::FfnUp, TensorRole::FfnDown});
    return roles;
}

const std::vector<TensorRole>& expertRoles()
{
    static const std::vector<TensorRole> roles = {TensorRole::FfnGateExps, TensorRole::FfnUpExps, TensorRole::FfnDownExps};
    return roles;
}

std::string hfTensorName(const ModelConfig& c, TensorRole role, int block, int expert)
{
    const ArchFamily* f = archFamily(c.model_type);
    const char* pattern = nullptr;
    switch (role) {
    case TensorRole::FfnGateInp: pattern = f ? f->hf_router : ""; break;
    case TensorRole::FfnGateExps: pattern = f ? f->hf_expert_gate : ""; break;
    case TensorRole::FfnUpExps: pattern = f ? f->hf_expert_up : ""; break;
    case TensorRole::FfnDownExps: pattern = f ? f->hf_expert_down : ""; break;
    default: return hfTensorName(role, block);
    }
    if (!*pattern)
        throw Error(std::string("'") + c.model_type + "' models have no " + roleInfo(role).kind + " tensors");
    std::string s = pattern;
    for (const auto& [key, value] : {std::pair<std::string, int>{"{bid}", block}, {"{xid}", expert}})
        if (const auto p = s.find(key); p != std::string::npos)
            s.replace(p, key.size(), std::to_string(value));
    return s;
}

std::vector<std::pair<TensorRole, std::string>> blockTensorNames(const ModelConfig& c, int block)
{
    std::vector<std::pair<TensorRole, std::string>> out;
    for (TensorRole role : blockRoles(c))
        out.emplace_back(role, hfTensorName(c, role, block));
    for (int64_t x = 0; x < c.n_expert; ++x)
        for (TensorRole role : expertRoles())
            out.emplace_back(role, hfTensorName(c, role, block, int(x)));
    return out;
}

void requireDense(const ModelConfig& c, const std::string& operation)
{
    if (c.isMoe())
        throw Error(operation + " does not handle mixture-of-experts models yet (this " + c.model_type + " model has " +
                    std::to_string(c.n_expert) + " experts a block)");
}

std::vector<TensorRole> globalRoles(const ModelConfig& c)
{
    std::vector<TensorRole> roles = {TensorRole::TokenEmbd, TensorRole::OutputNorm};
    if (!c.tie_word_embeddings)
        roles.push_back(TensorRole::Output);
    return roles;
}

std::string hfTensorName(TensorRole role, int block)
{
    std::string s = roleInfo(role).hf;
    const auto p = s.find("{bid}");
    if (p != std::string::npos)
        s.replace(p, 5, std::to_string(block));
    return s;
}

std::string ggufTensorName(TensorRole role, int block)
{
    char name[128];
    std::snprintf(name, sizeof name, roleInfo(role).gguf, block);
    return name;
}

std::vector<int64_t> expectedShape(const ModelConfig& c, TensorRole role, int block)
{
    const bool own = block >= 0 && roleInfo(role).perBlock;
    const int64_t H = c.hidden_size, I = own ? c.intermediate(block) : c.intermediate_size;
    const int64_t Q = (own ? c.heads(block) : c.n_head) * c.head_dim;
    const int64_t KV = (own ? c.headsKv(block) : c.n_head_kv) * c.head_dim;
    switch (role) {
    case TensorRole::TokenEmbd:
    case TensorRole::Output: return {c.vocab_size, H};
    case TensorRole::OutputNorm:
    case TensorRole::AttnNorm:
    case TensorRole::FfnNorm: return {H};
    case TensorRole::AttnQ: return {Q, H};
    case TensorRole::AttnK:
    case TensorRole::AttnV: return {KV, H};
    case TensorRole::AttnO: return {H, Q};
    case TensorRole::AttnQBias: return {Q};
    case TensorRole::AttnKBias:
    case TensorRole::AttnVBias: return {KV};
    case TensorRole::AttnQNorm:
    case TensorRole::AttnKNorm: return {c.head_dim};
    case TensorRole::FfnGate:
    case TensorRole::FfnUp: return {I, H};
    case TensorRole::FfnDown: return {H, I};
    case TensorRole::FfnGateInp: return {c.n_expert, H};
    // one expert's matrices (HF stores them apart)
    case TensorRole::FfnGateExps:
    case TensorRole::FfnUpExps: return {c.expert_intermediate_size, H};
    case TensorRole::FfnDownExps: return {H, c.expert_intermediate_size};
    }
    return {};
}

int blockIndexOfTensor(const std::string& name)
{
    const std::string prefix = "model.layers.";
    if (name.compare(0, prefix.size(), prefix) != 0)
        return -1;
    return std::atoi(name.c_str() + prefix.size());
}

std::string shapeString(const std::vector<int64_t>& shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

} // namespace tailor
