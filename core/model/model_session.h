#pragma once
// An opened model folder: checkpoint, tokenizer and a summary in plain C++
// types. This is what ui/ and app/ hold; torch stays behind Model, which only
// engine .cpp files see.
#include "core/util/token_windows.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Model;
class Tokenizer;

struct TensorSummary {
    std::string name;
    std::vector<int64_t> shape;
    std::string dtype;
    int64_t parameters = 0;
    int block = -1;   // -1: outside the blocks
    std::string kind; // q k v o gate up down attn_norm ffn_norm embed norm lm_head
};

struct ModelSummary {
    std::string dir;
    std::string model_type;
    int64_t n_layer = 0, hidden_size = 0, intermediate_size = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
    // a mixture of experts (0 experts: dense): experts a block, a token's top k, an expert's width
    int64_t n_expert = 0, n_expert_used = 0, expert_intermediate_size = 0;
    int64_t vocab_size = 0, max_position_embeddings = 0;
    double rope_theta = 0, rms_norm_eps = 0;
    bool tie_word_embeddings = false;
    std::string dtype;
    int64_t parameters = 0;
    int64_t block_parameters = 0;
    uint64_t file_bytes = 0;
    std::vector<TensorSummary> tensors;
};

class ModelSession {
public:
    // Opens the checkpoint and its tokenizer; errors name the file.
    static std::shared_ptr<ModelSession> open(const std::string& dir);
    ~ModelSession();

    const ModelSummary& summary() const { return summary_; }
    const Tokenizer& tokenizer() const { return *tokenizer_; }
    Model& model() const { return *model_; }
    const std::string& dir() const { return summary_.dir; }

    // Reads a UTF-8 text file and encodes it (BOS as the tokenizer adds it).
    std::vector<int32_t> tokenizeFile(const std::string& path) const;
    // The calibration windows of a text file (errors name the file).
    TokenWindows calibration(const std::string& path, const CalibOptions& opt = {}) const;

private:
    ModelSession() = default;
    std::shared_ptr<Model> model_;
    std::shared_ptr<Tokenizer> tokenizer_;
    ModelSummary summary_;
};

std::string readTextFile(const std::string& path);

} // namespace tailor
