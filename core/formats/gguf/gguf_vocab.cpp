#include "gguf_vocab.h"
#include "gguf_metadata.h"
#include "core/util/error.h"
#include "core/util/json_file.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <unordered_map>

namespace tailor::gguf {

namespace {
QJsonObject readObject(const std::string& path, bool required)
{
    if (!required && !QFile::exists(QString::fromStdString(path)))
        return {};
    return readJsonObject(path, "(needed for the GGUF tokenizer metadata)");
}

bool mentionsType(const QJsonValue& v, const QString& type) // anywhere in a (Sequence of) component(s)
{
    if (v.isObject()) {
        const QJsonObject o = v.toObject();
        if (o.value("type").toString() == type)
            return true;
        for (const auto& key : {"pretokenizers", "decoders", "normalizers", "processors"})
            for (const auto& c : o.value(key).toArray())
                if (mentionsType(c, type))
                    return true;
    }
    return false;
}

std::string tokenString(const QJsonValue& v)
{
    return v.isString() ? v.toString().toStdString() : std::string();
}
} // namespace

Vocab readVocab(const std::string& dir, int64_t vocabSize, const std::string& pre)
{
    const std::string path = dir + "/tokenizer.json";
    const QJsonObject tok = readObject(path, true);
    const QJsonObject model = tok.value("model").toObject();
    if (model.value("type").toString() != "BPE")
        throw Error(path + ": GGUF export handles BPE tokenizers only, not '" + model.value("type").toString().toStdString() + "'");
    Vocab v;
    const bool byteLevel = mentionsType(tok.value("pre_tokenizer"), "ByteLevel") || mentionsType(tok.value("decoder"), "ByteLevel");
    v.model = byteLevel ? "gpt2" : "llama";

    std::vector<std::string> merges;
    for (const auto& m : model.value("merges").toArray()) {
        if (m.isString())
            merges.push_back(m.toString().toStdString());
        else {
            const QJsonArray pair = m.toArray();
            merges.push_back(pair.at(0).toString().toStdString() + " " + pair.at(1).toString().toStdString());
        }
    }
    const QJsonObject vocab = model.value("vocab").toObject();
    int64_t n = vocabSize;
    for (auto it = vocab.begin(); it != vocab.end(); ++it)
        n = std::max<int64_t>(n, int64_t(it.value().toInt()) + 1);
    const QJsonArray added = tok.value("added_tokens").toArray();
    for (const auto& a : added)
        n = std::max<int64_t>(n, int64_t(a.toObject().value("id").toInt()) + 1);
    if (n > vocabSize)
        throw Error(path + ": token ids reach " + std::to_string(n - 1) + " but the model has " + std::to_string(vocabSize) +
                    " embedding rows");
    v.tokens.assign(std::size_t(n), std::string());
    v.types.assign(std::size_t(n), 5);
    std::vector<bool> present(std::size_t(n), false);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const auto id = std::size_t(it.value().toInt());
        v.tokens[id] = it.key().toStdString();
        v.types[id] = 1;
        present[id] = true;
    }
    static const QRegularExpression byteToken("^<0x[0-9A-Fa-f]{2}>$");
    if (v.model == "llama") {
        std::unordered_map<std::string, int64_t> rank; // token -> first merge producing it
        for (std::size_t r = 0; r < merges.size(); ++r) {
            const auto sp = merges[r].find(' ');
            if (sp == std::string::npos)
                continue;
            rank.emplace(merges[r].substr(0, sp) + merges[r].substr(sp + 1), int64_t(r));
        }
        v.scores.assign(std::size_t(n), 0.0f);
        for (std::size_t id = 0; id < std::size_t(n); ++id) {
            if (const auto it = rank.find(v.tokens[id]); it != rank.end())
                v.scores[id] = -float(it->second + 1);
            if (model.value("byte_fallback").toBool() && byteToken.match(QString::fromStdString(v.tokens[id])).hasMatch())
                v.types[id] = 6;
        }
    } else {
        v.merges = merges;
        // llama.cpp picks its pre-tokenizer regex by name
        v.pre = !pre.empty() ? pre : QJsonDocument(tok.value("pre_tokenizer").toObject()).toJson().contains("(?i:'s|'t") ? "llama-bpe" : "default";
    }
    const std::string unk = tokenString(model.value("unk_token"));
    for (const auto& a : added) {
        const QJsonObject o = a.toObject();
        const auto id = std::size_t(o.value("id").toInt());
        v.tokens[id] = o.value("content").toString().toStdString();
        v.types[id] = o.value("special").toBool() ? 3 : 4;
        present[id] = true;
    }
    for (std::size_t id = 0; id < std::size_t(n); ++id) {
        if (!present[id])
            v.tokens[id] = "[PAD" + std::to_string(id) + "]";
        if (!unk.empty() && v.tokens[id] == unk)
            v.types[id] = 2, v.unk = int64_t(id);
    }

    const QJsonObject cfg = readObject(dir + "/tokenizer_config.json", false);
    auto idOf = [&](const QJsonValue& t) -> int64_t {
        const std::string s = t.isObject() ? tokenString(t.toObject().value("content")) : tokenString(t);
        for (std::size_t id = 0; id < v.tokens.size(); ++id)
            if (!s.empty() && v.tokens[id] == s)
                return int64_t(id);
        return -1;
    };
    v.bos = idOf(cfg.value("bos_token"));
    v.eos = idOf(cfg.value("eos_token"));
    // the post-processor is what the engine's tokenizer follows; tokenizer_config's flags otherwise
    const QByteArray post = QJsonDocument(tok.value("post_processor").toObject()).toJson(QJsonDocument::Compact);
    if (!tok.value("post_processor").isNull() && tok.value("post_processor").isObject() && post.contains("\"single\"")) {
        const QJsonArray single = tok.value("post_processor").toObject().value("single").toArray();
        v.add_bos = !single.isEmpty() && single.first().toObject().contains("SpecialToken");
        v.add_eos = !single.isEmpty() && single.last().toObject().contains("SpecialToken");
        if (v.add_bos && v.bos < 0)
            v.bos = idOf(single.first().toObject().value("SpecialToken").toObject().value("id"));
    } else {
        v.add_bos = cfg.value("add_bos_token").toBool(v.model == "llama");
        v.add_eos = cfg.value("add_eos_token").toBool(false);
    }
    return v;
}

Vocab readVocab(const File& file, int64_t vocabSize)
{
    const Metadata md(file);
    Vocab v;
    v.model = md.requireString("tokenizer.ggml.model");
    v.pre = md.string("tokenizer.ggml.pre").value_or("");
    v.tokens = md.strings("tokenizer.ggml.tokens");
    for (double s : md.numbers("tokenizer.ggml.scores"))
        v.scores.push_back(float(s));
    for (int64_t t : md.integers("tokenizer.ggml.token_type"))
        v.types.push_back(int32_t(t));
    v.merges = md.strings("tokenizer.ggml.merges");
    if (int64_t(v.tokens.size()) > vocabSize)
        throw Error(md.where("tokenizer.ggml.tokens") + ": " + std::to_string(v.tokens.size()) + " tokens for an embedding of " +
                    std::to_string(vocabSize) + " rows");
    v.bos = md.integer("tokenizer.ggml.bos_token_id").value_or(-1);
    v.eos = md.integer("tokenizer.ggml.eos_token_id").value_or(-1);
    v.unk = md.integer("tokenizer.ggml.unknown_token_id").value_or(-1);
    v.add_bos = md.boolean("tokenizer.ggml.add_bos_token").value_or(v.model == "llama");
    v.add_eos = md.boolean("tokenizer.ggml.add_eos_token").value_or(false);
    return v;
}

} // namespace tailor::gguf
