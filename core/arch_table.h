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
    AttnNorm, AttnQ, AttnK, AttnV, AttnO, AttnQBias, AttnKBias, AttnVBias,
    FfnNorm, FfnGate, FfnUp, FfnDown,
};

struct TensorRoleInfo {
    TensorRole role;
    const char* hf;   // "{bid}" stands for the block index
    const char* gguf; // llama.cpp name, "%d" for the block index
    const char* kind; // short label used by the views: q k v o gate up down norm ...
    bool perBlock;
    bool isLinear;    // a weight matrix that quantization and low rank act on
};

const std::vector<TensorRoleInfo>& tensorRoles();
const TensorRoleInfo& roleInfo(TensorRole role);

// Roles a block of this configuration has (q/k/v bias only with attention_bias).
std::vector<TensorRole> blockRoles(const ModelConfig& c);
// Roles outside the blocks (lm_head only when embeddings are not tied).
std::vector<TensorRole> globalRoles(const ModelConfig& c);

std::string hfTensorName(TensorRole role, int block = -1);
std::vector<int64_t> expectedShape(const ModelConfig& c, TensorRole role);

// "model.layers.7.mlp.down_proj.weight" -> 7; -1 for tensors outside blocks.
int blockIndexOfTensor(const std::string& name);
std::string shapeString(const std::vector<int64_t>& shape);

} // namespace tailor
