#pragma once
// tokenizer.json decoders (ids -> text): ByteLevel, Metaspace, and the
// SentencePiece chain Replace / ByteFallback / Fuse / Strip, in a Sequence.
// Each works on the list of token strings, as HF's decode_chain does.
#include <QJsonValue>

#include <memory>
#include <string>
#include <vector>

namespace tailor {

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual std::vector<std::string> decodeChain(std::vector<std::string> tokens) const = 0;
    // null JSON -> nullptr (tokens are concatenated)
    static std::unique_ptr<Decoder> fromJson(const QJsonValue& v);
};

} // namespace tailor
