#include "added_tokens.h"
#include "core/util/error.h"

#include <QJsonObject>
#include <algorithm>

namespace tailor {

namespace {
bool isWordChar(QChar c) { return c.isLetterOrNumber() || c == '_'; }
} // namespace

void AddedTokens::load(const QJsonArray& arr)
{
    for (const auto& v : arr) {
        const QJsonObject o = v.toObject();
        AddedToken t;
        t.content = o.value("content").toString();
        if (t.content.isEmpty() || !o.value("id").isDouble())
            throw Error("added_tokens: an entry lacks 'content' or 'id'");
        const double id = o.value("id").toDouble();
        if (id < 0 || id > 2147483646.0 || id != double(int64_t(id)))
            throw Error("added_tokens: token '" + t.content.toStdString() + "' has id " + QString::number(id, 'g', 12).toStdString() +
                        ", not a non-negative 32-bit integer");
        t.id = int32_t(id);
        if (byId_.contains(t.id))
            throw Error("added_tokens: tokens '" + tokens_[std::size_t(byId_[t.id])].content.toStdString() + "' and '" +
                        t.content.toStdString() + "' have the same id " + std::to_string(t.id));
        t.special = o.value("special").toBool(false);
        t.lstrip = o.value("lstrip").toBool(false);
        t.rstrip = o.value("rstrip").toBool(false);
        t.singleWord = o.value("single_word").toBool(false);
        byId_[t.id] = int(tokens_.size());
        tokens_.push_back(t);
    }
    for (int i = 0; i < int(tokens_.size()); ++i)
        byFirstChar_[tokens_[i].content[0]].push_back(i);
    for (auto it = byFirstChar_.begin(); it != byFirstChar_.end(); ++it)
        std::sort(it->begin(), it->end(),
                  [&](int a, int b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
}

const AddedToken* AddedTokens::byId(int32_t id) const
{
    auto it = byId_.find(id);
    return it == byId_.end() ? nullptr : &tokens_[*it];
}

const AddedToken* AddedTokens::byContent(const QString& content) const
{
    for (const auto& t : tokens_)
        if (t.content == content)
            return &t;
    return nullptr;
}

std::vector<TextSegment> AddedTokens::split(const QString& text) const
{
    std::vector<TextSegment> out;
    if (tokens_.empty()) {
        out.push_back({text, -1});
        return out;
    }
    int plainStart = 0;
    int i = 0;
    const int n = int(text.size());
    while (i < n) {
        auto it = byFirstChar_.find(text[i]);
        const AddedToken* hit = nullptr;
        if (it != byFirstChar_.end()) {
            for (int idx : *it) {
                const AddedToken& t = tokens_[idx];
                if (QStringView(text).mid(i).startsWith(t.content)) {
                    const int end = i + int(t.content.size());
                    if (t.singleWord && ((i > 0 && isWordChar(text[i - 1])) || (end < n && isWordChar(text[end]))))
                        continue;
                    hit = &t;
                    break;
                }
            }
        }
        if (!hit) {
            ++i;
            continue;
        }
        int start = i, end = i + int(hit->content.size());
        if (hit->lstrip)
            while (start > plainStart && text[start - 1].isSpace())
                --start;
        if (hit->rstrip)
            while (end < n && text[end].isSpace())
                ++end;
        if (start > plainStart)
            out.push_back({text.mid(plainStart, start - plainStart), -1});
        out.push_back({hit->content, hit->id});
        plainStart = i = end;
    }
    if (plainStart < n)
        out.push_back({text.mid(plainStart), -1});
    return out;
}

} // namespace tailor
