#pragma once
// Added and special tokens of tokenizer.json. They are found in the raw text
// before normalization (leftmost, longest first), as HF's AddedVocabulary does
// for tokens with "normalized": false; the text between them goes through the
// normalizer, pre-tokenizer and model. (Tokens with "normalized": true are
// matched on the raw text too: none of the supported families has one that
// normalization would change.)
#include <QHash>
#include <QJsonArray>
#include <QString>

#include <cstdint>
#include <vector>

namespace tailor {

struct AddedToken {
    QString content;
    int32_t id = -1;
    bool special = false;
    bool lstrip = false, rstrip = false, singleWord = false;
};

struct TextSegment {
    QString text;
    int32_t addedId = -1; // >= 0: this segment is that added token
};

class AddedTokens {
public:
    void load(const QJsonArray& tokens);
    std::vector<TextSegment> split(const QString& text) const;
    const std::vector<AddedToken>& tokens() const { return tokens_; }
    const AddedToken* byId(int32_t id) const;
    const AddedToken* byContent(const QString& content) const;

private:
    std::vector<AddedToken> tokens_;
    QHash<QChar, std::vector<int>> byFirstChar_; // indexes into tokens_, longest first
    QHash<int32_t, int> byId_;
};

} // namespace tailor
