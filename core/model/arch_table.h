#pragma once
// Architecture table (after llama.cpp's llama-arch.cpp): every tensor role a
// Llama-family checkpoint has, its Hugging Face name pattern, its GGUF name
// pattern and its expected shape. Adding an architecture means rows, not switches.
#include "model_config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

enum class TensorRole {
    TokenEmbd, OutputNorm, Output,
    AttnNorm, AttnQ, AttnK, AttnV, AttnO, AttnQBias, AttnKBias, AttnVBias, AttnQNorm, AttnKNorm,
    FfnNorm, FfnGate, FfnUp, FfnDown,
    // mixture of experts (#30): the router, and each expert's three matrices
    // (HF: one tensor per expert; GGUF: the experts stacked in one 3-D tensor)
    FfnGateInp, FfnGateExps, FfnUpExps, FfnDownExps,
};

// One row per model family (config.json's model_type): what differs between
// them. Adding a family is a row here (plus any new operation it needs).
struct ArchFamily {
    const char* model_type; // config.json
    const char* gguf_arch;  // general.architecture and the prefix of its keys
    bool qkv_bias;          // q/k/v projections always have a bias (Qwen2)
    bool qk_norm;           // per-head RMSNorm of q and k before RoPE (Qwen3)
    bool gguf_permute_qk;   // llama.cpp's converter permutes q/k rows to its RoPE layout
    const char* gguf_pre;   // tokenizer.ggml.pre for byte-level tokenizers; "" = from the split regex
    // llama.cpp's architecture for blocks of different widths (non-uniform
    // width pruning): per-block head counts and feed-forward lengths; "" = none
    const char* gguf_arch_per_block_widths;
    // Mixture of experts: "" for dense families. The config keys of the
    // expert count and of an expert's width, whether the chosen experts'
    // weights are always renormalised, and the HF names of the router and of
    // an expert's gate, up and down ({bid} block, {xid} expert).
    bool moe = false;
    const char* moe_expert_count_key = "";
    const char* moe_ffn_key = "";
    bool moe_norm_topk_always = false;
    const char* hf_router = "";
    const char* hf_expert_gate = "";
    const char* hf_expert_up = "";
    const char* hf_expert_down = "";
};

const std::vector<ArchFamily>& archFamilies();
// The row of a model_type; nullptr when Tailor does not run it.
const ArchFamily* archFamily(const std::string& modelType);
// "llama, mistral, qwen2 and qwen3", for messages.
std::string supportedModelTypes();

// The width-pruning unit a tensor dimension is made of (core/compress/width_prune.h):
// KV groups (q rows and o columns hold a group's query heads, k and v rows
// its key/value head, each group a run of equal length) or MLP channels (gate
// and up rows, down columns). None: width pruning leaves the dimension whole.
enum class WidthUnit { None, KvGroup, Channel };

struct TensorRoleInfo {
    TensorRole role;
    const char* hf;   // "{bid}" stands for the block index
    const char* gguf; // llama.cpp name, "%d" for the block index
    const char* kind; // short label used by the views: q k v o gate up down norm ...
    bool perBlock;
    bool isLinear;    // a weight matrix that quantization and low rank act on
    WidthUnit rowUnit = WidthUnit::None; // dimension 0 (a bias's only one)
    WidthUnit colUnit = WidthUnit::None; // dimension 1
    bool perExpert = false; // one tensor per expert in HF, stacked in GGUF
};

const std::vector<TensorRoleInfo>& tensorRoles();
const TensorRoleInfo& roleInfo(TensorRole role);
// The kinds of a block's weight matrices in table order (q k v o gate up
// down): LoRA's default targets, the views' block × matrix heat maps.
std::vector<std::string> blockLinearKinds();

// Roles a block of this configuration has (q/k/v bias only with attention_bias;
// a mixture's blocks have the router instead of gate/up/down, and their
// experts: expertRoles()).
std::vector<TensorRole> blockRoles(const ModelConfig& c);
// gate, up, down of one expert (FfnGateExps, FfnUpExps, FfnDownExps).
const std::vector<TensorRole>& expertRoles();
// HF name of a role of this model's family: the router and the experts are
// named per family (qwen3_moe "mlp.experts.3.up_proj", mixtral
// "block_sparse_moe.experts.3.w3"); other roles as hfTensorName.
std::string hfTensorName(const ModelConfig& c, TensorRole role, int block, int expert = -1);
// Every HF tensor of block b of this model (experts included), with its role.
std::vector<std::pair<TensorRole, std::string>> blockTensorNames(const ModelConfig& c, int block);
// Refuses a mixture-of-experts model in an operation that does not handle
// experts yet, naming the operation.
void requireDense(const ModelConfig& c, const std::string& operation);
// Roles outside the blocks (lm_head only when embeddings are not tied).
std::vector<TensorRole> globalRoles(const ModelConfig& c);

std::string hfTensorName(TensorRole role, int block = -1);
// llama.cpp's name of the role in block `block`: "blk.3.attn_q.weight", "token_embd.weight".
std::string ggufTensorName(TensorRole role, int block = -1);
// The shape config.json implies for a role; with a block, that block's own
// widths (a width-pruned model's blocks may differ in heads and channels).
std::vector<int64_t> expectedShape(const ModelConfig& c, TensorRole role, int block = -1);

// "model.layers.7.mlp.down_proj.weight" -> 7; -1 for tensors outside blocks.
int blockIndexOfTensor(const std::string& name);
std::string shapeString(const std::vector<int64_t>& shape);

} // namespace tailor
