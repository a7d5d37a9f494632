#pragma once
// Exports a (compressed) model as one GGUF v3 file for llama.cpp: the
// {arch}.* hyper-parameters (arch, q/k permutation and tokenizer pre from the
// family's row in archFamilies(): "llama" for llama/mistral, "qwen2", "qwen3"),
// the tokenizer embedded (gguf_vocab.h), blocks renumbered after dropping, q/k
// rows permuted back to llama.cpp's interleaved RoPE layout where the row says
// so (llama; the Qwen families keep HF's layout, as llama.cpp's converter does), llama3 rope scaling as a
// rope_freqs tensor. Tensor types as llama-quantize chooses them for the
// file type (gguf_mixture.h: q4_k_m gives the output Q6_K, some attn_v and
// ffn_down Q6_K, the rest Q4_K), with the user's regex overrides first and
// llama.cpp's fallbacks for rows a block does not divide (said in warnings);
// quantized with an importance matrix when given. Norms and biases F32.
#include "core/formats/gguf/gguf_mixture.h"
#include "core/util/progress.h"

#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
struct Imatrix;

struct GgufExportOptions {
    std::string type = "f16"; // a llama-quantize file type: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k_s/m/l q4_k_s/m q5_k_s/m q6_k
    bool force = false;
    std::string name; // general.name; the folder name when empty
    const Imatrix* imatrix = nullptr; // named after the source model's blocks (before dropping), as llama.cpp's are
    std::vector<gguf::TypeOverride> overrides; // first match wins, over the file type's rules
};

struct GgufTensorType {
    std::string name; // GGUF tensor name
    gguf::TensorType type;
    bool overridden = false;
    bool imatrix = false; // quantized with importance weights
};

struct GgufExportReport {
    int64_t tensors = 0;
    uint64_t bytes = 0;      // tensor data
    uint64_t file_bytes = 0; // the whole file
    std::vector<std::string> warnings;
    std::vector<GgufTensorType> types; // in file order
};

GgufExportReport exportGguf(const Model& model, const std::vector<int>& dropBlocks, const std::string& outFile,
                            const GgufExportOptions& opt, const ProgressFn& progress = {});

// The size of the file exportGguf would write, without quantizing or writing
// anything (size budgets count the whole file: metadata, vocabulary, padding).
uint64_t ggufFileSize(const Model& model, const std::vector<int>& dropBlocks, const GgufExportOptions& opt,
                      std::vector<std::string>* warnings = nullptr);

// The model as the export's tensors will hold it: every exported tensor
// replaced by its dequantized value for the type it gets (lazily, so a large
// model costs no extra memory). Its perplexity is the file's under libllama up
// to the runtime's arithmetic: llama.cpp's CPU backend also rounds each matrix
// product's input to 8 bits (Q8_0 / Q8_K) for quantized weights, which moves
// the perplexity by 1e-5 to 1e-3 relative (docs/gguf.md). Blocks in dropBlocks are left as they are (the
// caller evaluates without them).
std::shared_ptr<Model> ggufQuantizedModel(const Model& model, const std::vector<int>& dropBlocks, const GgufExportOptions& opt,
                                          std::vector<std::string>* warnings = nullptr);

// llama.cpp's q/k row order from HF's (and back, with inverse = true):
// rows [heads, 2, hd/2] <-> [heads, hd/2, 2].
std::vector<int64_t> ropeRowPermutation(int64_t heads, int64_t headDim, bool inverse = false);

} // namespace tailor
