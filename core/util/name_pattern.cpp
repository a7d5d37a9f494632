#include "name_pattern.h"

#include <cctype>
#include <unordered_map>
#include <optional>
#include <regex>

namespace tailor {

namespace {

// A pattern that is a plain string with optional ^ and $ anchors.
struct Literal {
    std::string text;
    bool start = false, end = false;
};

std::optional<Literal> asLiteral(const std::string& p)
{
    Literal l;
    std::size_t i = 0, n = p.size();
    if (n && p[0] == '^')
        l.start = true, i = 1;
    if (n > i && p[n - 1] == '$' && (n < 2 || p[n - 2] != '\\'))
        l.end = true, --n;
    static const std::string special = ".[]{}()*+?|^$\\";
    for (; i < n; ++i) {
        const char c = p[i];
        if (c == '\\') {
            // an escaped punctuation character stands for itself (\d, \w, \b... are classes)
            if (i + 1 >= n || std::isalnum(static_cast<unsigned char>(p[i + 1])))
                return std::nullopt;
            l.text += p[++i];
        } else if (special.find(c) != std::string::npos) {
            return std::nullopt;
        } else {
            l.text += c;
        }
    }
    return l;
}

struct Compiled {
    std::optional<Literal> literal;
    std::optional<std::regex> regex;
};

const Compiled& compiled(const std::string& pattern)
{
    // one cache per thread: no lock on a path taken for every (rule, tensor)
    // pair, and std::regex objects are not shared between threads
    thread_local std::unordered_map<std::string, Compiled> cache;
    auto it = cache.find(pattern);
    if (it == cache.end()) {
        Compiled c;
        c.literal = asLiteral(pattern);
        if (!c.literal)
            c.regex.emplace(pattern);
        it = cache.emplace(pattern, std::move(c)).first;
    }
    return it->second;
}

} // namespace

bool nameMatches(const std::string& pattern, const std::string& name)
{
    const Compiled& c = compiled(pattern);
    if (!c.literal)
        return std::regex_search(name, *c.regex);
    const Literal& l = *c.literal;
    if (l.start && l.end)
        return name == l.text;
    if (l.start)
        return name.compare(0, l.text.size(), l.text) == 0;
    if (l.end)
        return name.size() >= l.text.size() && name.compare(name.size() - l.text.size(), l.text.size(), l.text) == 0;
    return name.find(l.text) != std::string::npos;
}

std::string patternError(const std::string& pattern)
{
    try {
        std::regex check(pattern);
    } catch (const std::regex_error&) {
        return "'" + pattern + "' is not a valid regular expression";
    }
    return {};
}

} // namespace tailor
