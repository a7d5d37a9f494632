#pragma once
// Normalizers and pre-tokenizers of a Hugging Face tokenizer.json, built from
// the file's JSON. Unknown types are refused with their name, never skipped.
// Text is handled as QString (UTF-16): Qt's PCRE2 gives the \p{L}, \p{N},
// (?i:...) and look-ahead the files' split regexes use.
#include <QJsonValue>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <vector>

namespace tailor {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual QString apply(const QString& s) const = 0;
    // null JSON -> nullptr (no normalizer)
    static std::unique_ptr<Normalizer> fromJson(const QJsonValue& v);
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Splits each piece further; `first` tells whether the piece starts the
    // text (Metaspace's prepend_scheme "first").
    virtual QStringList split(const QString& piece, bool first) const = 0;
    static std::unique_ptr<PreTokenizer> fromJson(const QJsonValue& v);
};

} // namespace tailor
