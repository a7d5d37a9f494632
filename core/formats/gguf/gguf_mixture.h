#pragma once
// Which ggml type each tensor of a GGUF export gets: llama-quantize's file
// types ("mixtures": q4_k_m, q3_k_s, ...) as a table, and its per-tensor rules
// (src/llama-quant.cpp of the pinned llama.cpp): the tied embedding / output
// matrix kept at Q6_K or Q8_0, attn_v and ffn_down bumped by layer position,
// the user's regex overrides first, and the same fallback when a row length
// does not divide the type's block (Q4_K -> Q5_0, Q6_K -> Q8_0, ... -> F16).
#include "gguf_types.h"

#include <string>
#include <vector>

namespace tailor::gguf {

struct Mixture {
    const char* name;   // llama-quantize's name, lower case: "q4_k_m"
    uint32_t ftype;     // llama_ftype, written as general.file_type
    TensorType base;    // the default tensor type
};

const std::vector<Mixture>& mixtures();
// Case-insensitive; throws "unknown GGUF type 'x' (one of ...)" otherwise.
const Mixture& mixture(const std::string& name);

struct TypeOverride {
    std::string pattern; // ECMAScript regex searched in the GGUF tensor name (lower-cased, as llama-quantize does)
    TensorType type;
};
// "attn_v=q8_0" -> {attn_v, Q8_0}; throws naming the bad part.
TypeOverride parseTypeOverride(const std::string& spec);

struct MixtureModel {
    std::string arch;       // general.architecture
    int64_t n_layer = 0;
    int64_t n_head = 0, n_head_kv = 0;
    bool hasImatrix = false;
    int64_t n_expert = 0; // a mixture's experts a block: llama.cpp gives 8-expert models more bits in attention
};

struct TensorShape {
    std::string name;        // GGUF name: "blk.3.attn_v.weight"
    std::vector<int64_t> ne; // ggml order
};

struct TypeChoice {
    TensorType type;
    bool overridden = false; // a --tensor-type rule decided
};

// One choice per tensor, in the order given. Tensors of one dimension stay
// F32. Warnings: fallbacks for shapes, and override patterns that match nothing.
std::vector<TypeChoice> chooseTypes(const Mixture& mix, const MixtureModel& model, const std::vector<TensorShape>& tensors,
                                    const std::vector<TypeOverride>& overrides, std::vector<std::string>* warnings);

// llama.cpp's tensor order (llama_model_loader's weight_name_comparer): tensors
// outside blocks first, then block by block, by name inside each group.
bool llamaTensorOrder(const std::string& a, const std::string& b);

} // namespace tailor::gguf
