#pragma once
// The tokenizer as GGUF metadata (tokenizer.ggml.*), read from a model's
// tokenizer.json (+ tokenizer_config.json):
// - "llama" (SentencePiece BPE with byte fallback / Metaspace): tokens, scores,
//   token types. tokenizer.json has merges, not scores, so a token made by merge
//   r scores −r and other tokens 0: llama.cpp's SPM tokenizer, which merges the
//   pair with the highest score first, then follows the merge order.
// - "gpt2" (byte-level BPE): tokens, token types and merges; `pre` names the
//   pre-tokenizer llama.cpp should use.
// Token types: 1 normal, 2 unknown, 3 control (special added tokens), 4 user
// defined (other added tokens), 5 unused (padding up to vocab_size), 6 byte.
#include <cstdint>
#include <string>
#include <vector>

namespace tailor::gguf {

struct Vocab {
    std::string model; // llama | gpt2
    std::string pre;   // gpt2 only
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    std::vector<std::string> merges; // gpt2 only, "a b"
    int64_t bos = -1, eos = -1, unk = -1;
    bool add_bos = false, add_eos = false;
};

// `vocabSize`: rows of the embedding; missing ids are padded as unused tokens.
Vocab readVocab(const std::string& modelDir, int64_t vocabSize, const std::string& pre); // pre: the family's tokenizer.ggml.pre, or "" to infer it
// The vocabulary a GGUF file holds, to be written again as it is.
class File;
Vocab readVocab(const File& file, int64_t vocabSize);

} // namespace tailor::gguf
