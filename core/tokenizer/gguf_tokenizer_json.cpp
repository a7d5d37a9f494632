#include "gguf_tokenizer_json.h"
#include "core/formats/gguf/gguf_metadata.h"
#include "core/util/error.h"

#include <QJsonArray>

#include <algorithm>
#include <map>
#include <numeric>
#include <unordered_map>

namespace tailor {

namespace {

// llama.cpp's token types (llama_token_type in llama-vocab.h).
enum TokenType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// tokenizer.ggml.pre -> the split regex of the tokenizer.json it came from
// (llama-vocab.cpp keeps an adapted copy of each) and whether whole words in
// the vocabulary skip the merges (llama.cpp's ignore_merges for llama3).
struct PreTokenizerRow {
    const char* pre;
    const char* regex;
    bool ignoreMerges;
};
const PreTokenizerRow kPreTokenizers[] = {
    {"llama-bpe",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     true},
    {"qwen2",
     "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     false},
    {"gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", false},
};

int utf8Len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

QJsonObject object(std::initializer_list<std::pair<QString, QJsonValue>> kv)
{
    QJsonObject o;
    for (const auto& [k, v] : kv)
        o.insert(k, v);
    return o;
}

// SentencePiece scores as merges: each normal token made from each of its
// splits into two tokens, best score first (ties: the lower id, as
// SentencePiece orders pieces).
QJsonArray mergesFromScores(const std::vector<std::string>& tokens, const std::vector<double>& scores,
                            const std::vector<int64_t>& types, const std::unordered_map<std::string, int64_t>& ids)
{
    std::vector<int64_t> order;
    for (int64_t i = 0; i < int64_t(tokens.size()); ++i)
        if (types[std::size_t(i)] == Normal && tokens[std::size_t(i)].size() > 1)
            order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[std::size_t(a)] > scores[std::size_t(b)]; });
    QJsonArray merges;
    for (int64_t i : order) {
        const std::string& t = tokens[std::size_t(i)];
        for (std::size_t cut = std::size_t(utf8Len(uint8_t(t[0]))); cut < t.size(); cut += std::size_t(utf8Len(uint8_t(t[cut])))) {
            const std::string a = t.substr(0, cut), b = t.substr(cut);
            if (ids.count(a) && ids.count(b))
                merges.append(QJsonArray{QString::fromStdString(a), QString::fromStdString(b)});
        }
    }
    return merges;
}

} // namespace

TokenizerJson tokenizerJsonFromGguf(const gguf::File& file)
{
    const gguf::Metadata md(file);
    const std::string model = md.requireString("tokenizer.ggml.model");
    if (model != "llama" && model != "gpt2")
        throw Error(md.where("tokenizer.ggml.model") + ": '" + model +
                    "' is not a vocabulary Tailor reads (llama: SentencePiece; gpt2: byte-level BPE)");
    const std::vector<std::string> tokens = md.strings("tokenizer.ggml.tokens");
    if (tokens.empty())
        throw Error(md.where("tokenizer.ggml.tokens") + ": missing or empty");
    std::vector<int64_t> types = md.integers("tokenizer.ggml.token_type");
    if (types.empty())
        types.assign(tokens.size(), Normal);
    if (types.size() != tokens.size())
        throw Error(md.where("tokenizer.ggml.token_type") + ": " + std::to_string(types.size()) + " types for " +
                    std::to_string(tokens.size()) + " tokens");
    const int64_t n = int64_t(tokens.size());
    auto tokenId = [&](const char* key, int64_t fallback) -> int64_t {
        const int64_t id = md.integer(key).value_or(fallback);
        if (id >= n)
            throw Error(md.where(key) + ": token id " + std::to_string(id) + " is beyond the " + std::to_string(n) + " tokens");
        return id;
    };
    const bool spm = model == "llama";
    // llama-vocab.cpp's defaults for each model, then the file's keys
    const int64_t bos = tokenId("tokenizer.ggml.bos_token_id", spm ? 1 : -1);
    const int64_t eos = tokenId("tokenizer.ggml.eos_token_id", spm ? 2 : -1);
    const int64_t unk = tokenId("tokenizer.ggml.unknown_token_id", spm ? 0 : -1);
    const bool addBos = md.boolean("tokenizer.ggml.add_bos_token").value_or(spm);
    const bool addEos = md.boolean("tokenizer.ggml.add_eos_token").value_or(false);

    // Every id names a token; a string seen twice keeps its first id (as
    // llama.cpp's token_to_id does) and later ones get a name no text makes.
    std::unordered_map<std::string, int64_t> ids;
    QJsonObject vocab;
    QJsonArray added;
    for (int64_t i = 0; i < n; ++i) {
        std::string t = tokens[std::size_t(i)];
        if (!ids.emplace(t, i).second)
            t = "<gguf duplicate of id " + std::to_string(ids[t]) + " at " + std::to_string(i) + ">";
        const int64_t type = types[std::size_t(i)];
        if (type == Control || type == UserDefined)
            added.append(object({{"id", double(i)}, {"content", QString::fromStdString(t)}, {"special", type == Control},
                                 {"single_word", false}, {"lstrip", false}, {"rstrip", false}, {"normalized", false}}));
        else
            vocab.insert(QString::fromStdString(t), double(i));
    }

    TokenizerJson out;
    QJsonObject bpe{{"type", "BPE"}, {"vocab", vocab}, {"fuse_unk", spm}, {"byte_fallback", spm}};
    if (unk >= 0)
        bpe.insert("unk_token", QString::fromStdString(tokens[std::size_t(unk)]));
    if (spm) {
        const std::vector<double> scores = md.numbers("tokenizer.ggml.scores");
        if (scores.size() != tokens.size())
            throw Error(md.where("tokenizer.ggml.scores") + ": " + std::to_string(scores.size()) + " scores for " +
                        std::to_string(tokens.size()) + " tokens (a SentencePiece vocabulary needs one per token)");
        bpe.insert("merges", mergesFromScores(tokens, scores, types, ids));
        QJsonArray normalizers;
        if (md.boolean("tokenizer.ggml.add_space_prefix").value_or(true))
            normalizers.append(QJsonObject{{"type", "Prepend"}, {"prepend", QString(QChar(0x2581))}});
        normalizers.append(QJsonObject{{"type", "Replace"}, {"pattern", QJsonObject{{"String", " "}}}, {"content", QString(QChar(0x2581))}});
        out.tokenizer.insert("normalizer", QJsonObject{{"type", "Sequence"}, {"normalizers", normalizers}});
        out.tokenizer.insert("pre_tokenizer", QJsonValue::Null);
        out.tokenizer.insert(
            "decoder",
            QJsonObject{{"type", "Sequence"},
                        {"decoders", QJsonArray{QJsonObject{{"type", "Replace"}, {"pattern", QJsonObject{{"String", QString(QChar(0x2581))}}}, {"content", " "}},
                                                QJsonObject{{"type", "ByteFallback"}}, QJsonObject{{"type", "Fuse"}},
                                                QJsonObject{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}});
    } else {
        const std::vector<std::string> merges = md.strings("tokenizer.ggml.merges");
        if (merges.empty())
            throw Error(md.where("tokenizer.ggml.merges") + ": missing or empty (a gpt2 byte-level vocabulary needs its merges)");
        QJsonArray m;
        for (const std::string& s : merges)
            m.append(QString::fromStdString(s));
        bpe.insert("merges", m);
        const std::string pre = md.string("tokenizer.ggml.pre").value_or("default");
        const PreTokenizerRow* row = nullptr;
        for (const auto& r : kPreTokenizers)
            if (pre == r.pre || (pre == "default" && std::string(r.pre) == "gpt2") || (pre == "smollm" && std::string(r.pre) == "gpt2"))
                row = &r;
        if (!row) {
            std::string known;
            for (const auto& r : kPreTokenizers)
                known += std::string(known.empty() ? "" : ", ") + r.pre;
            throw Error(md.where("tokenizer.ggml.pre") + ": pre-tokenizer '" + pre + "' is not one Tailor knows (" + known + ", smollm, default)");
        }
        bpe.insert("ignore_merges", row->ignoreMerges);
        QJsonArray pretokenizers;
        if (pre == "smollm") // llama.cpp: every digit alone first
            pretokenizers.append(QJsonObject{{"type", "Digits"}, {"individual_digits", true}});
        pretokenizers.append(QJsonObject{{"type", "Split"}, {"pattern", QJsonObject{{"Regex", row->regex}}}, {"behavior", "Isolated"}, {"invert", false}});
        pretokenizers.append(QJsonObject{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}});
        out.tokenizer.insert("normalizer", QJsonValue::Null);
        out.tokenizer.insert("pre_tokenizer", QJsonObject{{"type", "Sequence"}, {"pretokenizers", pretokenizers}});
        out.tokenizer.insert("decoder", QJsonObject{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}});
    }
    out.tokenizer.insert("model", bpe);
    out.tokenizer.insert("added_tokens", added);
    out.tokenizer.insert("post_processor", QJsonValue::Null);
    if (bos >= 0)
        out.config.insert("bos_token", QString::fromStdString(tokens[std::size_t(bos)]));
    if (eos >= 0)
        out.config.insert("eos_token", QString::fromStdString(tokens[std::size_t(eos)]));
    out.config.insert("add_bos_token", addBos);
    out.config.insert("add_eos_token", addEos);
    return out;
}

} // namespace tailor
