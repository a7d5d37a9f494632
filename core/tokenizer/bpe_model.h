#pragma once
// The BPE model of tokenizer.json ("model": {"type": "BPE"}): vocabulary,
// merges by rank, byte fallback, unknown-token fusing, ignore_merges. Words are
// UTF-8 strings already normalized and pre-tokenized.
#include <QJsonObject>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tailor {

class BpeModel {
public:
    explicit BpeModel(const QJsonObject& model); // throws naming the problem
    void encodeWord(const std::string& word, std::vector<int32_t>& out) const;

    int32_t tokenId(const std::string& token) const; // -1 if absent
    const std::string& tokenText(int32_t id) const;  // "" if absent
    int32_t vocabSize() const { return int32_t(idToToken_.size()); }
    void addToken(const std::string& token, int32_t id); // added tokens outside the model vocab
    bool hasId(int32_t id) const;

private:
    struct Merge { int32_t rank; int32_t id; };
    static uint64_t pairKey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
    void mergeWord(const std::string& word, std::vector<int32_t>& out) const;

    std::unordered_map<std::string, int32_t> vocab_;
    std::vector<std::string> idToToken_;
    std::vector<bool> assigned_;
    std::unordered_map<uint64_t, Merge> merges_;
    int32_t unkId_ = -1;
    bool byteFallback_ = false;
    bool fuseUnk_ = false;
    bool ignoreMerges_ = false;
    int32_t byteIds_[256];

    // Repeated words are looked up, not merged again (short words only).
    mutable std::mutex cacheMutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

} // namespace tailor
