#include "bpe_model.h"
#include "core/util/error.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <queue>

namespace tailor {

namespace {
int utf8Len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }
constexpr std::size_t kCacheWordBytes = 64;
constexpr std::size_t kCacheEntries = 200000;
// Room above the vocabulary's own size for ids that added tokens fill.
constexpr double kMaxIdsBeyondVocab = 65536;

bool optionalBool(const QJsonObject& m, const char* key)
{
    const QJsonValue v = m.value(key);
    if (v.isUndefined() || v.isNull())
        return false;
    if (!v.isBool())
        throw Error(std::string("model.") + key + " must be true or false");
    return v.toBool();
}
} // namespace

BpeModel::BpeModel(const QJsonObject& m)
{
    const QJsonValue vocab = m.value("vocab");
    if (!vocab.isObject())
        throw Error("model.vocab is missing or not an object");
    const QJsonObject v = vocab.toObject();
    vocab_.reserve(std::size_t(v.size()) * 2);
    // Ids index tables of the vocabulary's size: each must be a distinct
    // integer in 0 .. size-1 (added tokens extend the range; Tokenizer::load
    // checks the union has no gaps).
    const double limit = double(v.size()) + kMaxIdsBeyondVocab;
    for (auto it = v.begin(); it != v.end(); ++it) {
        const double id = it.value().toDouble(-1);
        if (!it.value().isDouble() || id < 0 || id != double(int64_t(id)) || id >= limit)
            throw Error("model.vocab: id of token '" + it.key().toStdString() + "' is " +
                        QJsonDocument(QJsonArray{it.value()}).toJson(QJsonDocument::Compact).mid(1).chopped(1).toStdString() +
                        ", not an integer in 0 .. " + std::to_string(int64_t(limit) - 1));
        if (hasId(int32_t(id)))
            throw Error("model.vocab: tokens '" + tokenText(int32_t(id)) + "' and '" + it.key().toStdString() +
                        "' have the same id " + std::to_string(int64_t(id)));
        addToken(it.key().toStdString(), int32_t(id));
    }
    const QJsonValue mergesValue = m.value("merges");
    if (!mergesValue.isUndefined() && !mergesValue.isNull() && !mergesValue.isArray())
        throw Error("model.merges must be a list");
    const QJsonArray merges = mergesValue.toArray();
    merges_.reserve(std::size_t(merges.size()) * 2);
    int32_t rank = 0;
    for (const auto& e : merges) {
        std::string a, b;
        if (e.isString()) { // "a b"
            const std::string s = e.toString().toStdString();
            const auto sp = s.find(' ', 1);
            if (sp == std::string::npos)
                throw Error("model.merges: entry '" + s + "' is not two tokens separated by a space");
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (e.isArray() && e.toArray().size() == 2) { // ["a", "b"]
            a = e.toArray()[0].toString().toStdString();
            b = e.toArray()[1].toString().toStdString();
        } else {
            throw Error("model.merges: entry " + std::to_string(rank) + " is neither \"a b\" nor [\"a\", \"b\"]");
        }
        const int32_t ia = tokenId(a), ib = tokenId(b), im = tokenId(a + b);
        if (ia < 0 || ib < 0 || im < 0)
            throw Error("model.merges: entry " + std::to_string(rank) + " ('" + a + "' '" + b +
                        "') uses a token missing from the vocabulary");
        merges_.emplace(pairKey(ia, ib), Merge{rank, im});
        ++rank;
    }
    const QJsonValue unk = m.value("unk_token");
    if (unk.isString()) {
        unkId_ = tokenId(unk.toString().toStdString());
        if (unkId_ < 0)
            throw Error("model.unk_token '" + unk.toString().toStdString() + "' is not in the vocabulary");
    }
    byteFallback_ = optionalBool(m, "byte_fallback");
    fuseUnk_ = optionalBool(m, "fuse_unk");
    ignoreMerges_ = optionalBool(m, "ignore_merges");
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byteIds_[b] = tokenId(name);
    }
    const QString prefix = m.value("continuing_subword_prefix").toString();
    const QString suffix = m.value("end_of_word_suffix").toString();
    if (!prefix.isEmpty() || !suffix.isEmpty())
        throw Error("model: continuing_subword_prefix / end_of_word_suffix are not supported");
    if (m.value("dropout").isDouble() && m.value("dropout").toDouble() > 0)
        throw Error("model: BPE dropout is not supported");
}

void BpeModel::addToken(const std::string& token, int32_t id)
{
    vocab_[token] = id;
    if (std::size_t(id) >= idToToken_.size()) {
        idToToken_.resize(std::size_t(id) + 1);
        assigned_.resize(std::size_t(id) + 1);
    }
    idToToken_[std::size_t(id)] = token;
    assigned_[std::size_t(id)] = true;
}

bool BpeModel::hasId(int32_t id) const { return id >= 0 && std::size_t(id) < assigned_.size() && assigned_[std::size_t(id)]; }

int32_t BpeModel::tokenId(const std::string& token) const
{
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
}

const std::string& BpeModel::tokenText(int32_t id) const
{
    static const std::string none;
    return id >= 0 && std::size_t(id) < idToToken_.size() ? idToToken_[std::size_t(id)] : none;
}

void BpeModel::encodeWord(const std::string& word, std::vector<int32_t>& out) const
{
    if (word.empty())
        return;
    if (ignoreMerges_) {
        const int32_t id = tokenId(word);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }
    const bool cacheable = word.size() <= kCacheWordBytes;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cacheMutex_);
        auto it = cache_.find(word);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids;
    mergeWord(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cacheMutex_);
        if (cache_.size() < kCacheEntries)
            cache_.emplace(word, std::move(ids));
    }
}

// HF tokenizers' Word::merge_all: a min-heap of (rank, position) over adjacent
// symbol pairs, symbols in a doubly linked list; stale heap entries are skipped.
void BpeModel::mergeWord(const std::string& word, std::vector<int32_t>& out) const
{
    struct Symbol { int32_t id; int prev, next; bool alive; };
    std::vector<Symbol> sy;
    bool lastUnk = false;
    for (std::size_t i = 0; i < word.size();) {
        const int len = std::min<int>(utf8Len(static_cast<unsigned char>(word[i])), int(word.size() - i));
        const std::string ch = word.substr(i, std::size_t(len));
        i += std::size_t(len);
        const int32_t id = tokenId(ch);
        if (id >= 0) {
            sy.push_back({id, 0, 0, true});
            lastUnk = false;
            continue;
        }
        if (byteFallback_) {
            bool all = true;
            for (unsigned char c : ch)
                all = all && byteIds_[c] >= 0;
            if (all) {
                for (unsigned char c : ch)
                    sy.push_back({byteIds_[c], 0, 0, true});
                lastUnk = false;
                continue;
            }
        }
        if (unkId_ < 0)
            throw Error("the text has the character '" + ch + "', which the vocabulary lacks and no unk_token covers");
        if (!(fuseUnk_ && lastUnk))
            sy.push_back({unkId_, 0, 0, true});
        lastUnk = true;
    }
    const int n = int(sy.size());
    for (int i = 0; i < n; ++i) {
        sy[i].prev = i - 1;
        sy[i].next = i + 1 < n ? i + 1 : -1;
    }
    struct Cand { int32_t rank; int pos; int32_t id; };
    auto cmp = [](const Cand& a, const Cand& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
    std::priority_queue<Cand, std::vector<Cand>, decltype(cmp)> heap(cmp);
    auto consider = [&](int pos) {
        const int nx = sy[pos].next;
        if (nx < 0)
            return;
        auto it = merges_.find(pairKey(sy[pos].id, sy[nx].id));
        if (it != merges_.end())
            heap.push({it->second.rank, pos, it->second.id});
    };
    for (int i = 0; i + 1 < n; ++i)
        consider(i);
    while (!heap.empty()) {
        const Cand c = heap.top();
        heap.pop();
        Symbol& s = sy[c.pos];
        if (!s.alive || s.next < 0)
            continue;
        auto it = merges_.find(pairKey(s.id, sy[s.next].id));
        if (it == merges_.end() || it->second.rank != c.rank || it->second.id != c.id)
            continue; // stale
        Symbol& right = sy[s.next];
        s.id = c.id;
        right.alive = false;
        s.next = right.next;
        if (s.next >= 0)
            sy[s.next].prev = c.pos;
        if (s.prev >= 0)
            consider(s.prev);
        consider(c.pos);
    }
    for (int i = 0; i >= 0 && i < n; i = sy[i].next)
        out.push_back(sy[i].id);
}

} // namespace tailor
