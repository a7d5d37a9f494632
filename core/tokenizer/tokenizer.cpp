#include "tokenizer.h"
#include "added_tokens.h"
#include "bpe_model.h"
#include "decoder.h"
#include "text_pipeline.h"
#include "gguf_tokenizer_json.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/util/error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tailor {

struct Tokenizer::Impl {
    std::string path;
    std::unique_ptr<BpeModel> model;
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> preTokenizer;
    std::unique_ptr<Decoder> decoder;
    AddedTokens added;
    std::vector<int32_t> prefixIds, suffixIds; // from the post-processor
    int32_t bos = -1, eos = -1;

    void loadPostProcessor(const QJsonValue& v);
    int32_t idOf(const QString& token, const std::string& where) const;
};

namespace {

QJsonDocument readJsonFile(const QString& path, const std::string& label)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error(label + ": cannot open: " + f.errorString().toStdString());
    const QByteArray bytes = f.readAll();
    QJsonParseError err{};
    QJsonDocument doc = QJsonDocument::fromJson(bytes, &err);
    if (err.error != QJsonParseError::NoError) {
        const QByteArray before = bytes.left(err.offset);
        const int line = int(before.count('\n')) + 1;
        const int col = int(err.offset - before.lastIndexOf('\n'));
        throw Error(label + ": malformed JSON at line " + std::to_string(line) + ", column " + std::to_string(col) +
                    ": " + err.errorString().toStdString());
    }
    if (!doc.isObject())
        throw Error(label + ": not a JSON object");
    return doc;
}

// bos_token in tokenizer_config.json: "<s>" or {"content": "<s>", ...}
QString tokenString(const QJsonValue& v)
{
    return v.isObject() ? v.toObject().value("content").toString() : v.toString();
}

} // namespace

int32_t Tokenizer::Impl::idOf(const QString& token, const std::string& where) const
{
    if (const AddedToken* a = added.byContent(token))
        return a->id;
    const int32_t id = model->tokenId(token.toStdString());
    if (id < 0)
        throw Error(where + ": token '" + token.toStdString() + "' is not in the vocabulary");
    return id;
}

void Tokenizer::Impl::loadPostProcessor(const QJsonValue& v)
{
    if (v.isNull() || v.isUndefined())
        return;
    const QJsonObject o = v.toObject();
    const QString type = o.value("type").toString();
    if (type == "ByteLevel")
        return; // offsets only
    if (type == "Sequence") {
        for (const auto& p : o.value("processors").toArray())
            loadPostProcessor(p);
        return;
    }
    if (type == "TemplateProcessing") {
        const QJsonObject specials = o.value("special_tokens").toObject();
        bool seenSequence = false;
        for (const auto& item : o.value("single").toArray()) {
            const QJsonObject it = item.toObject();
            if (it.contains("Sequence")) {
                seenSequence = true;
                continue;
            }
            const QString name = it.value("SpecialToken").toObject().value("id").toString();
            const QJsonArray ids = specials.value(name).toObject().value("ids").toArray();
            if (ids.isEmpty())
                throw Error("post_processor TemplateProcessing: special token '" + name.toStdString() + "' has no ids");
            for (const auto& id : ids)
                (seenSequence ? suffixIds : prefixIds).push_back(int32_t(id.toDouble()));
        }
        return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        prefixIds.push_back(int32_t(o.value("cls").toArray().at(1).toDouble()));
        suffixIds.push_back(int32_t(o.value("sep").toArray().at(1).toDouble()));
        return;
    }
    throw Error("post_processor '" + type.toStdString() + "' is not supported");
}

namespace {

// Embedding rows are indexed by id, so every id from 0 to the largest must
// name one token (vocabulary or added) and the largest must stay near the
// vocabulary's size: a stray 1e8 would size tables by it.
void checkIdsAreDense(const BpeModel& model, const AddedTokens& added)
{
    const int64_t limit = int64_t(model.vocabSize()) + 65536;
    int32_t top = model.vocabSize() - 1;
    for (const auto& a : added.tokens()) {
        if (a.id >= limit)
            throw Error("added_tokens: token '" + a.content.toStdString() + "' has id " + std::to_string(a.id) +
                        ", far beyond the vocabulary's " + std::to_string(model.vocabSize()) + " ids");
        top = std::max(top, a.id);
    }
    for (int32_t id = 0; id <= top; ++id)
        if (!model.hasId(id) && !added.byId(id))
            throw Error("model.vocab: no token has id " + std::to_string(id) + " (ids must run from 0 to " +
                        std::to_string(top) + " without gaps)");
}

} // namespace

Tokenizer::Tokenizer() : d(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<Tokenizer> Tokenizer::load(const std::string& pathIn)
{
    const QFileInfo info(QString::fromStdString(pathIn));
    if (info.isFile() && info.suffix().compare("gguf", Qt::CaseInsensitive) == 0) {
        const TokenizerJson json = tokenizerJsonFromGguf(*gguf::File::open(pathIn));
        return fromJson(json.tokenizer, json.config, pathIn);
    }
    const QString file = info.isDir() ? QDir(info.filePath()).filePath("tokenizer.json") : info.filePath();
    if (!QFileInfo::exists(file))
        throw Error(pathIn + ": no tokenizer.json");
    const QString configFile = QFileInfo(file).dir().filePath("tokenizer_config.json");
    const std::string label = file.toStdString();
    QJsonObject root, config;
    try {
        root = readJsonFile(file, label).object();
        if (QFileInfo::exists(configFile))
            config = readJsonFile(configFile, configFile.toStdString()).object();
    } catch (const Error& e) {
        const std::string msg = e.what();
        if (msg.rfind(label, 0) == 0)
            throw;
        throw Error(label + ": " + msg);
    }
    return fromJson(root, config, label);
}

std::shared_ptr<Tokenizer> Tokenizer::fromJson(const QJsonObject& root, const QJsonObject& config, const std::string& label)
{
    std::shared_ptr<Tokenizer> t(new Tokenizer());
    Impl& d = *t->d;
    d.path = label;
    try {
        const QJsonObject model = root.value("model").toObject();
        if (!model.value("type").isUndefined() && !model.value("type").isString())
            throw Error("model.type must be a string such as \"BPE\"");
        QString type = model.value("type").toString();
        if (type.isEmpty() && model.contains("merges"))
            type = "BPE";
        if (type != "BPE")
            throw Error("model type '" + type.toStdString() +
                        "' is not supported (Tailor reads BPE tokenizers: Llama, Mistral, Qwen, SmolLM, GPT-2)");
        d.model = std::make_unique<BpeModel>(model);
        d.added.load(root.value("added_tokens").toArray());
        checkIdsAreDense(*d.model, d.added);
        d.normalizer = Normalizer::fromJson(root.value("normalizer"));
        d.preTokenizer = PreTokenizer::fromJson(root.value("pre_tokenizer"));
        d.decoder = Decoder::fromJson(root.value("decoder"));
        d.loadPostProcessor(root.value("post_processor"));

        const QString bos = tokenString(config.value("bos_token"));
        const QString eos = tokenString(config.value("eos_token"));
        if (!bos.isEmpty())
            d.bos = d.idOf(bos, "tokenizer_config.json bos_token");
        if (!eos.isEmpty())
            d.eos = d.idOf(eos, "tokenizer_config.json eos_token");
        // Without a post-processor, transformers adds BOS/EOS as the config says.
        if (root.value("post_processor").isNull() || root.value("post_processor").isUndefined()) {
            if (config.value("add_bos_token").toBool(false) && d.bos >= 0)
                d.prefixIds.push_back(d.bos);
            if (config.value("add_eos_token").toBool(false) && d.eos >= 0)
                d.suffixIds.push_back(d.eos);
        }
    } catch (const Error& e) {
        const std::string msg = e.what();
        if (msg.rfind(label, 0) == 0)
            throw;
        throw Error(label + ": " + msg);
    }
    return t;
}

std::vector<int32_t> Tokenizer::encode(const std::string& text, bool addSpecial) const
{
    std::vector<int32_t> ids;
    if (addSpecial)
        ids = d->prefixIds;
    const QString q = QString::fromUtf8(text.data(), qsizetype(text.size()));
    const auto segments = d->added.split(q);
    for (std::size_t s = 0; s < segments.size(); ++s) {
        const auto& seg = segments[s];
        if (seg.addedId >= 0) {
            ids.push_back(seg.addedId);
            continue;
        }
        const QString norm = d->normalizer ? d->normalizer->apply(seg.text) : seg.text;
        if (norm.isEmpty())
            continue;
        if (!d->preTokenizer) {
            d->model->encodeWord(norm.toStdString(), ids);
            continue;
        }
        for (const QString& piece : d->preTokenizer->split(norm, s == 0))
            d->model->encodeWord(piece.toStdString(), ids);
    }
    if (addSpecial)
        ids.insert(ids.end(), d->suffixIds.begin(), d->suffixIds.end());
    return ids;
}

std::string Tokenizer::tokenText(int32_t id) const
{
    if (const AddedToken* a = d->added.byId(id))
        return a->content.toStdString();
    return d->model->tokenText(id);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skipSpecial) const
{
    std::vector<std::string> tokens;
    for (int32_t id : ids) {
        const AddedToken* a = d->added.byId(id);
        if (a && a->special && skipSpecial)
            continue;
        tokens.push_back(tokenText(id));
    }
    if (d->decoder)
        tokens = d->decoder->decodeChain(std::move(tokens));
    std::string out;
    for (const auto& t : tokens)
        out += t;
    return out;
}

int32_t Tokenizer::vocabSize() const
{
    int32_t n = d->model->vocabSize();
    for (const auto& a : d->added.tokens())
        n = std::max(n, a.id + 1);
    return n;
}

int32_t Tokenizer::bosId() const { return d->bos; }
int32_t Tokenizer::eosId() const { return d->eos; }
const std::string& Tokenizer::path() const { return d->path; }

bool sameVocabulary(const Tokenizer& a, const Tokenizer& b)
{
    if (a.vocabSize() != b.vocabSize())
        return false;
    for (int32_t id = 0; id < a.vocabSize(); ++id)
        if (a.tokenText(id) != b.tokenText(id))
            return false;
    return true;
}

} // namespace tailor
