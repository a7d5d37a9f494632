#pragma once
// Hyper-parameters of a Llama-family checkpoint, read from config.json.
// Supported `model_type`s: the rows of archFamilies() (arch_table.h).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tailor {

struct RopeScaling {
    std::string type; // "" (none), "linear", "llama3", "freq_factors"
    double factor = 1.0;
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    int64_t original_max_position_embeddings = 8192;
    // "freq_factors": what each rotary frequency is divided by, as a GGUF's
    // rope_freqs tensor holds llama3 scaling (no config.json has it).
    std::vector<float> freq_factors;
};

// llama3 RoPE scaling (transformers' _compute_llama3_parameters), written
// once: what a rotary frequency of this wavelength (2π / inverse frequency)
// is divided by: 1 for short wavelengths, `factor` for long ones, smoothly
// in between. The forward pass divides its inverse frequencies by it; the
// GGUF export stores it per frequency as rope_freqs, as llama.cpp expects.
double llama3RopeDivisor(const RopeScaling& s, double wavelength);

struct ModelConfig {
    std::string model_type;
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    RopeScaling rope_scaling;
    bool tie_word_embeddings = false;
    bool attention_bias = false; // q/k/v bias (qwen2 always; llama when attention_bias)
    bool qk_norm = false;        // per-head RMSNorm of q and k before RoPE (qwen3)
    int64_t bos_token_id = -1;
    int64_t eos_token_id = -1;
    int64_t sliding_window = 0; // mistral; 0 = none
    std::string torch_dtype;
    // Per-block widths after non-uniform width pruning (#18): KV heads and MLP
    // channels of each block. Empty when every block has the widths above;
    // when set, n_head_kv / n_head / intermediate_size are the widest block's
    // (n_head / n_head_kv stays the query heads per KV group). No config.json
    // holds them; llama.cpp's deci architecture does (gguf_export.cpp).
    std::vector<int64_t> block_n_head_kv, block_intermediate_size;
    // Mixture of experts (#30; qwen3_moe, mixtral): every block's MLP is
    // n_expert experts of expert_intermediate_size channels, a router picks
    // n_expert_used per token; 0 experts = a dense model. norm_topk_prob:
    // the chosen experts' softmax weights are renormalised to sum to 1
    // (Mixtral always; Qwen3-MoE when config.json says so).
    int64_t n_expert = 0, n_expert_used = 0, expert_intermediate_size = 0;
    bool norm_topk_prob = true;
    bool isMoe() const { return n_expert > 0; }
    bool uniformWidths() const { return block_n_head_kv.empty() && block_intermediate_size.empty(); }
    int64_t headsKv(int64_t block) const;
    int64_t heads(int64_t block) const; // headsKv(block) × query heads per group
    int64_t intermediate(int64_t block) const;
    // The first two of `blocks` whose widths differ, or {-1, -1} when they all agree.
    std::pair<int, int> firstWidthDifference(const std::vector<int>& blocks) const;

    // Parses and validates; errors read "config.json: key 'x' ...".
    static ModelConfig fromFile(const std::string& path);
    static ModelConfig fromJson(const std::string& json, const std::string& fileLabel);

    // Parameters of one transformer block (the widest, or block b) and of the whole model.
    int64_t blockParameters() const;
    int64_t blockParameters(int64_t block) const;
    int64_t totalParameters() const;
};

} // namespace tailor
