#include "decoder.h"
#include "byte_level.h"
#include "core/util/error.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QRegularExpression>
#include <QString>

namespace tailor {

namespace {

const std::string kMeta = "\xE2\x96\x81"; // U+2581

std::string replaceAll(std::string s, const std::string& from, const std::string& to)
{
    if (from.empty())
        return s;
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

class SequenceDecoder : public Decoder {
public:
    std::vector<std::unique_ptr<Decoder>> parts;
    std::vector<std::string> decodeChain(std::vector<std::string> t) const override
    {
        for (const auto& p : parts)
            t = p->decodeChain(std::move(t));
        return t;
    }
};

class ReplaceDecoder : public Decoder {
public:
    std::string from, to;
    std::vector<std::string> decodeChain(std::vector<std::string> t) const override
    {
        for (auto& s : t)
            s = replaceAll(s, from, to);
        return t;
    }
};

// "<0x41>" tokens become bytes; runs of them are decoded as UTF-8, invalid runs
// as one U+FFFD per byte (HF semantics).
class ByteFallbackDecoder : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> t) const override
    {
        std::vector<std::string> out;
        std::string bytes;
        int nBytes = 0;
        auto flush = [&] {
            if (nBytes == 0)
                return;
            const QString s = QString::fromUtf8(bytes.data(), qsizetype(bytes.size()));
            if (s.toUtf8().toStdString() == bytes && !s.contains(QChar(0xFFFD)))
                out.push_back(bytes);
            else
                for (int i = 0; i < nBytes; ++i)
                    out.push_back("\xEF\xBF\xBD");
            bytes.clear();
            nBytes = 0;
        };
        for (auto& s : t) {
            if (s.size() == 6 && s.compare(0, 3, "<0x") == 0 && s[5] == '>') {
                bytes += char(std::stoi(s.substr(3, 2), nullptr, 16));
                ++nBytes;
            } else {
                flush();
                out.push_back(std::move(s));
            }
        }
        flush();
        return out;
    }
};

class FuseDecoder : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> t) const override
    {
        std::string all;
        for (const auto& s : t)
            all += s;
        return {all};
    }
};

class StripDecoder : public Decoder {
public:
    std::string content;
    int start = 0, stop = 0;
    std::vector<std::string> decodeChain(std::vector<std::string> t) const override
    {
        for (auto& s : t) {
            for (int i = 0; i < start && s.compare(0, content.size(), content) == 0; ++i)
                s.erase(0, content.size());
            for (int i = 0; i < stop && s.size() >= content.size() &&
                            s.compare(s.size() - content.size(), content.size(), content) == 0; ++i)
                s.erase(s.size() - content.size());
        }
        return t;
    }
};

class ByteLevelDecoder : public Decoder {
public:
    std::vector<std::string> decodeChain(std::vector<std::string> t) const override
    {
        std::string all;
        for (const auto& s : t)
            all += byteLevelToBytes(s);
        // invalid UTF-8 becomes U+FFFD, as HF's from_utf8_lossy
        return {QString::fromUtf8(all.data(), qsizetype(all.size())).toStdString()};
    }
};

class MetaspaceDecoder : public Decoder {
public:
    std::string replacement = kMeta;
    bool stripFirst = true;
    std::vector<std::string> decodeChain(std::vector<std::string> t) const override
    {
        for (std::size_t i = 0; i < t.size(); ++i) {
            t[i] = replaceAll(t[i], replacement, " ");
            if (i == 0 && stripFirst && !t[i].empty() && t[i][0] == ' ')
                t[i].erase(0, 1);
        }
        return t;
    }
};

} // namespace

std::unique_ptr<Decoder> Decoder::fromJson(const QJsonValue& v)
{
    if (v.isNull() || v.isUndefined())
        return nullptr;
    const QJsonObject o = v.toObject();
    const std::string type = o.value("type").toString().toStdString();
    if (type == "Sequence") {
        auto s = std::make_unique<SequenceDecoder>();
        for (const auto& d : o.value("decoders").toArray())
            if (auto p = fromJson(d))
                s->parts.push_back(std::move(p));
        return s;
    }
    if (type == "Replace") {
        const QJsonObject p = o.value("pattern").toObject();
        if (!p.contains("String"))
            throw Error("decoder Replace: only string patterns are supported");
        auto r = std::make_unique<ReplaceDecoder>();
        r->from = p.value("String").toString().toStdString();
        r->to = o.value("content").toString().toStdString();
        return r;
    }
    if (type == "ByteFallback")
        return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse")
        return std::make_unique<FuseDecoder>();
    if (type == "Strip") {
        auto s = std::make_unique<StripDecoder>();
        s->content = o.value("content").toString(" ").toStdString();
        s->start = o.value("start").toInt(0);
        s->stop = o.value("stop").toInt(0);
        return s;
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelDecoder>();
    if (type == "Metaspace") {
        auto m = std::make_unique<MetaspaceDecoder>();
        m->replacement = o.value("replacement").toString(QString::fromStdString(kMeta)).toStdString();
        m->stripFirst = o.value("prepend_scheme").toString("always") != "never" && o.value("add_prefix_space").toBool(true);
        return m;
    }
    throw Error("decoder '" + type + "' is not supported");
}

} // namespace tailor
