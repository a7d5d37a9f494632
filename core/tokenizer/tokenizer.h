#pragma once
// A Hugging Face tokenizer.json (BPE model) in both styles: SentencePiece-like
// (Llama 2, TinyLlama, Mistral: normalizers + byte fallback) and byte-level
// (Llama 3, Qwen2/3, SmolLM, GPT-2: split regex + ByteLevel). Torch-free.
//
// Text is UTF-8. Invalid UTF-8 is replaced by U+FFFD (one per bad sequence)
// before encoding, as Python's decode(errors="replace") would do; the
// reference implementation accepts valid UTF-8 only.
#include <memory>
#include <string>
#include <vector>

class QJsonObject;

namespace tailor {

class Tokenizer {
public:
    // A model directory (tokenizer.json + optional tokenizer_config.json) or
    // the path of a tokenizer.json. Throws naming the file and the problem.
    // A .gguf file gives its own vocabulary (gguf_tokenizer_json.h).
    static std::shared_ptr<Tokenizer> load(const std::string& path);
    // The parsed tokenizer.json and tokenizer_config.json; `label` names
    // their source in errors.
    static std::shared_ptr<Tokenizer> fromJson(const QJsonObject& tokenizerJson, const QJsonObject& tokenizerConfig,
                                               const std::string& label);
    ~Tokenizer();

    // With addSpecial the post-processor's tokens (BOS...) are added.
    std::vector<int32_t> encode(const std::string& text, bool addSpecial = true) const;
    std::string decode(const std::vector<int32_t>& ids, bool skipSpecial = true) const;
    std::string tokenText(int32_t id) const;
    int32_t vocabSize() const;
    int32_t bosId() const;
    int32_t eosId() const;
    const std::string& path() const;

private:
    Tokenizer();
    struct Impl;
    std::unique_ptr<Impl> d;
};

// Whether the two give every id the same token (texts may still be split
// differently: llama.cpp's SentencePiece keeps double spaces that a
// tokenizer.json may collapse). Models with the same vocabulary can be
// compared on one tokenization.
bool sameVocabulary(const Tokenizer& a, const Tokenizer& b);

} // namespace tailor
