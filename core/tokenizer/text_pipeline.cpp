#include "text_pipeline.h"
#include "byte_level.h"
#include "core/util/error.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QRegularExpression>

namespace tailor {

namespace {

const QString kMetaspace = QString(QChar(0x2581));

std::string typeOf(const QJsonObject& o) { return o.value("type").toString().toStdString(); }

// A tokenizer.json "pattern": {"String": "..."} or {"Regex": "..."}.
QRegularExpression patternRegex(const QJsonValue& v, const std::string& owner)
{
    const QJsonObject p = v.toObject();
    QString re;
    if (p.contains("String"))
        re = QRegularExpression::escape(p.value("String").toString());
    else if (p.contains("Regex"))
        re = p.value("Regex").toString();
    else
        throw Error(owner + ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
    QRegularExpression rx(re, QRegularExpression::UseUnicodePropertiesOption);
    if (!rx.isValid())
        throw Error(owner + ": cannot compile regex '" + re.toStdString() + "': " +
                    rx.errorString().toStdString() + " at offset " + std::to_string(rx.patternErrorOffset()));
    rx.optimize();
    return rx;
}

// ---------------------------------------------------------------- normalizers

class SequenceNormalizer : public Normalizer {
public:
    std::vector<std::unique_ptr<Normalizer>> parts;
    QString apply(const QString& s) const override
    {
        QString r = s;
        for (const auto& p : parts) {
            r = p->apply(r);
            // Real normalizers map a character to at most a few; a chain that
            // keeps growing the text (a Replace repeated) would take the
            // machine's memory with it.
            if (r.size() > 4 * s.size() + 1024)
                throw Error("normalizer Sequence: expands a " + std::to_string(s.size()) + "-character text to " +
                            std::to_string(r.size()) + " characters; refusing a normalizer that multiplies the text");
        }
        return r;
    }
};

class PrependNormalizer : public Normalizer {
public:
    QString prefix;
    // Applied to every non-empty segment of the input, even when earlier
    // normalizers emptied it: the reference gives "▁" for a text of spaces.
    QString apply(const QString& s) const override { return prefix + s; }
};

class ReplaceNormalizer : public Normalizer {
public:
    QRegularExpression rx;
    QString content;
    QString apply(const QString& s) const override { return QString(s).replace(rx, content); }
};

class StripNormalizer : public Normalizer {
public:
    bool left = true, right = true;
    QString apply(const QString& s) const override
    {
        int b = 0, e = int(s.size());
        while (left && b < e && s[b].isSpace())
            ++b;
        while (right && e > b && s[e - 1].isSpace())
            --e;
        return s.mid(b, e - b);
    }
};

class UnicodeNormalizer : public Normalizer {
public:
    QString::NormalizationForm form = QString::NormalizationForm_C;
    QString apply(const QString& s) const override { return s.normalized(form); }
};

class LowercaseNormalizer : public Normalizer {
public:
    QString apply(const QString& s) const override { return s.toLower(); }
};

// ------------------------------------------------------------- pre-tokenizers

enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

SplitBehavior behaviorFromJson(const QJsonValue& v)
{
    const QString b = v.toString("Isolated");
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    throw Error("pre_tokenizer Split: unknown behavior '" + b.toStdString() + "'");
}

// HF's NormalizedString::split: matches and the gaps between them, combined by behavior.
QStringList splitBy(const QString& s, const QRegularExpression& rx, SplitBehavior behavior, bool invert)
{
    struct Span { int b, e; bool match; };
    std::vector<Span> spans;
    int last = 0;
    auto it = rx.globalMatch(s);
    while (it.hasNext()) {
        const auto m = it.next();
        if (m.capturedLength() == 0)
            continue;
        if (m.capturedStart() > last)
            spans.push_back({last, int(m.capturedStart()), false});
        spans.push_back({int(m.capturedStart()), int(m.capturedEnd()), true});
        last = int(m.capturedEnd());
    }
    if (last < s.size())
        spans.push_back({last, int(s.size()), false});
    if (invert)
        for (auto& sp : spans)
            sp.match = !sp.match;

    QStringList out;
    switch (behavior) {
    case SplitBehavior::Isolated:
        for (const auto& sp : spans)
            out << s.mid(sp.b, sp.e - sp.b);
        break;
    case SplitBehavior::Removed:
        for (const auto& sp : spans)
            if (!sp.match)
                out << s.mid(sp.b, sp.e - sp.b);
        break;
    case SplitBehavior::MergedWithPrevious: {
        QString cur;
        for (const auto& sp : spans) {
            cur += s.mid(sp.b, sp.e - sp.b);
            if (sp.match) { out << cur; cur.clear(); }
        }
        if (!cur.isEmpty()) out << cur;
        break;
    }
    case SplitBehavior::MergedWithNext: {
        QString cur;
        for (const auto& sp : spans) {
            if (sp.match && !cur.isEmpty()) { out << cur; cur.clear(); }
            cur += s.mid(sp.b, sp.e - sp.b);
        }
        if (!cur.isEmpty()) out << cur;
        break;
    }
    case SplitBehavior::Contiguous: {
        QString cur;
        bool curMatch = false;
        for (const auto& sp : spans) {
            if (!cur.isEmpty() && sp.match != curMatch) { out << cur; cur.clear(); }
            cur += s.mid(sp.b, sp.e - sp.b);
            curMatch = sp.match;
        }
        if (!cur.isEmpty()) out << cur;
        break;
    }
    }
    return out;
}

class SequencePreTokenizer : public PreTokenizer {
public:
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    QStringList split(const QString& piece, bool first) const override
    {
        QStringList pieces{piece};
        for (const auto& p : parts) {
            QStringList next;
            for (int i = 0; i < pieces.size(); ++i)
                next << p->split(pieces[i], first && i == 0);
            pieces = next;
        }
        return pieces;
    }
};

class SplitPreTokenizer : public PreTokenizer {
public:
    QRegularExpression rx;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    QStringList split(const QString& piece, bool) const override { return splitBy(piece, rx, behavior, invert); }
};

class ByteLevelPreTokenizer : public PreTokenizer {
public:
    bool addPrefixSpace = false;
    bool useRegex = true;
    QRegularExpression rx{QStringLiteral("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"),
                          QRegularExpression::UseUnicodePropertiesOption};
    QStringList split(const QString& piece, bool /*first*/) const override
    {
        QString s = piece;
        if (addPrefixSpace && !s.startsWith(' '))
            s.prepend(' ');
        QStringList parts = useRegex ? splitBy(s, rx, SplitBehavior::Isolated, false) : QStringList{s};
        for (auto& p : parts)
            p = QString::fromStdString(bytesToByteLevel(p.toStdString()));
        return parts;
    }
};

class MetaspacePreTokenizer : public PreTokenizer {
public:
    QString replacement = kMetaspace;
    QString prependScheme = "always";
    bool splitPieces = true;
    QRegularExpression replacementRx{QRegularExpression::escape(kMetaspace)};
    QStringList split(const QString& piece, bool first) const override
    {
        QString s = piece;
        s.replace(' ', replacement);
        if (!s.isEmpty() && !s.startsWith(replacement) &&
            (prependScheme == "always" || (prependScheme == "first" && first)))
            s.prepend(replacement);
        if (!splitPieces)
            return {s};
        return splitBy(s, replacementRx, SplitBehavior::MergedWithNext, false);
    }
};

class DigitsPreTokenizer : public PreTokenizer {
public:
    bool individual = false;
    QStringList split(const QString& piece, bool) const override
    {
        static const QRegularExpression one(QStringLiteral("\\p{N}"), QRegularExpression::UseUnicodePropertiesOption);
        static const QRegularExpression run(QStringLiteral("\\p{N}+"), QRegularExpression::UseUnicodePropertiesOption);
        return splitBy(piece, individual ? one : run, SplitBehavior::Isolated, false);
    }
};

class WhitespacePreTokenizer : public PreTokenizer {
public:
    bool onlySplit = false; // WhitespaceSplit
    QStringList split(const QString& piece, bool) const override
    {
        static const QRegularExpression ws(QStringLiteral("\\s+"), QRegularExpression::UseUnicodePropertiesOption);
        static const QRegularExpression words(QStringLiteral("\\w+|[^\\w\\s]+"), QRegularExpression::UseUnicodePropertiesOption);
        if (onlySplit)
            return splitBy(piece, ws, SplitBehavior::Removed, false);
        return splitBy(piece, words, SplitBehavior::Removed, true);
    }
};

} // namespace

std::unique_ptr<Normalizer> Normalizer::fromJson(const QJsonValue& v)
{
    if (v.isNull() || v.isUndefined())
        return nullptr;
    const QJsonObject o = v.toObject();
    const std::string type = typeOf(o);
    if (type == "Sequence") {
        auto s = std::make_unique<SequenceNormalizer>();
        for (const auto& n : o.value("normalizers").toArray())
            if (auto p = fromJson(n))
                s->parts.push_back(std::move(p));
        return s;
    }
    if (type == "Prepend") {
        auto p = std::make_unique<PrependNormalizer>();
        p->prefix = o.value("prepend").toString();
        return p;
    }
    if (type == "Replace") {
        auto r = std::make_unique<ReplaceNormalizer>();
        r->rx = patternRegex(o.value("pattern"), "normalizer Replace");
        // A pattern that matches nothing inserts its content between every two
        // characters: never meant, and it doubles the text per Replace.
        const auto onLetter = r->rx.match(QStringLiteral("a"));
        if (r->rx.match(QString()).hasMatch() || (onLetter.hasMatch() && onLetter.capturedLength() == 0))
            throw Error("normalizer Replace: pattern '" + r->rx.pattern().toStdString() + "' matches the empty string");
        r->content = o.value("content").toString();
        return r;
    }
    if (type == "Strip") {
        auto s = std::make_unique<StripNormalizer>();
        s->left = o.value("strip_left").toBool(true);
        s->right = o.value("strip_right").toBool(true);
        return s;
    }
    if (type == "NFC" || type == "NFKC" || type == "NFD" || type == "NFKD") {
        auto u = std::make_unique<UnicodeNormalizer>();
        u->form = type == "NFC" ? QString::NormalizationForm_C : type == "NFKC" ? QString::NormalizationForm_KC
                : type == "NFD" ? QString::NormalizationForm_D : QString::NormalizationForm_KD;
        return u;
    }
    if (type == "Lowercase")
        return std::make_unique<LowercaseNormalizer>();
    throw Error("normalizer '" + type + "' is not supported");
}

std::unique_ptr<PreTokenizer> PreTokenizer::fromJson(const QJsonValue& v)
{
    if (v.isNull() || v.isUndefined())
        return nullptr;
    const QJsonObject o = v.toObject();
    const std::string type = typeOf(o);
    if (type == "Sequence") {
        auto s = std::make_unique<SequencePreTokenizer>();
        for (const auto& n : o.value("pretokenizers").toArray())
            if (auto p = fromJson(n))
                s->parts.push_back(std::move(p));
        return s;
    }
    if (type == "Split") {
        auto s = std::make_unique<SplitPreTokenizer>();
        s->rx = patternRegex(o.value("pattern"), "pre_tokenizer Split");
        s->behavior = behaviorFromJson(o.value("behavior"));
        s->invert = o.value("invert").toBool(false);
        return s;
    }
    if (type == "ByteLevel") {
        auto b = std::make_unique<ByteLevelPreTokenizer>();
        b->addPrefixSpace = o.value("add_prefix_space").toBool(false);
        b->useRegex = o.value("use_regex").toBool(true);
        return b;
    }
    if (type == "Metaspace") {
        auto m = std::make_unique<MetaspacePreTokenizer>();
        m->replacement = o.value("replacement").toString(kMetaspace);
        m->replacementRx = QRegularExpression(QRegularExpression::escape(m->replacement));
        if (o.contains("prepend_scheme"))
            m->prependScheme = o.value("prepend_scheme").toString();
        else
            m->prependScheme = o.value("add_prefix_space").toBool(true) ? "always" : "never";
        m->splitPieces = o.value("split").toBool(true);
        return m;
    }
    if (type == "Digits") {
        auto d = std::make_unique<DigitsPreTokenizer>();
        d->individual = o.value("individual_digits").toBool(false);
        return d;
    }
    if (type == "Whitespace" || type == "WhitespaceSplit") {
        auto w = std::make_unique<WhitespacePreTokenizer>();
        w->onlySplit = type == "WhitespaceSplit";
        return w;
    }
    throw Error("pre_tokenizer '" + type + "' is not supported");
}

} // namespace tailor
