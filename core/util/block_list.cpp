#include "block_list.h"
#include "error.h"

#include <cerrno>
#include <cstdlib>

namespace tailor {

namespace {

std::string trimmed(const std::string& s)
{
    const auto a = s.find_first_not_of(" \t");
    const auto b = s.find_last_not_of(" \t");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// A whole item as an integer, or false.
bool toInt(const std::string& s, long& v)
{
    if (s.empty())
        return false;
    char* end = nullptr;
    errno = 0;
    v = std::strtol(s.c_str(), &end, 10);
    return *end == '\0' && errno == 0 && v >= -(1L << 30) && v <= (1L << 30);
}

} // namespace

std::vector<int> parseBlockList(const std::string& text, int nBlocks, const std::string& what)
{
    std::vector<int> out;
    const std::string all = trimmed(text);
    if (all.empty() || all == "none")
        return out;
    auto resolve = [&](long v, const std::string& item) {
        if (nBlocks > 0 && v < 0)
            v += nBlocks;
        if (nBlocks > 0 && (v < 0 || v >= nBlocks))
            throw Error(what + ": " + item + " is outside the model's blocks 0-" + std::to_string(nBlocks - 1));
        if (v < 0 && nBlocks == 0)
            throw Error(what + ": " + item + " is not a block index");
        return int(v);
    };
    std::size_t p = 0;
    while (true) {
        const auto comma = all.find(',', p);
        const std::string item = trimmed(all.substr(p, comma == std::string::npos ? std::string::npos : comma - p));
        // A '-' after the first character separates a range; a leading one is a sign.
        const auto dash = item.find('-', 1);
        long a = 0, b = 0;
        if (dash != std::string::npos && toInt(trimmed(item.substr(0, dash)), a) && toInt(trimmed(item.substr(dash + 1)), b)) {
            const int from = resolve(a, item), to = resolve(b, item);
            if (to < from)
                throw Error(what + ": '" + item + "' is not a block range (it ends before it starts)");
            for (int i = from; i <= to; ++i)
                out.push_back(i);
        } else if (toInt(item, a)) {
            out.push_back(resolve(a, item));
        } else {
            throw Error(what + ": '" + item + "' is not a block index or range");
        }
        if (comma == std::string::npos)
            break;
        p = comma + 1;
    }
    return out;
}

} // namespace tailor
