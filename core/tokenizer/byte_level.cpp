#include "byte_level.h"

#include <array>
#include <unordered_map>

namespace tailor {

namespace {

void appendUtf8(std::string& out, char32_t cp)
{
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

struct Tables {
    std::array<std::string, 256> encode;
    std::unordered_map<char32_t, unsigned char> decode;
    Tables()
    {
        // Printable latin-1 bytes map to themselves; the rest to 256 + n.
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const char32_t cp = printable ? char32_t(b) : char32_t(256 + n++);
            appendUtf8(encode[b], cp);
            decode[cp] = static_cast<unsigned char>(b);
        }
    }
};

const Tables& tables()
{
    static const Tables t;
    return t;
}

} // namespace

std::string bytesToByteLevel(const std::string& bytes)
{
    const auto& t = tables();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes)
        out += t.encode[c];
    return out;
}

std::string byteLevelToBytes(const std::string& text)
{
    const auto& t = tables();
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (int k = 1; k < len && i + k < text.size(); ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        auto it = t.decode.find(cp);
        if (it != t.decode.end())
            out += char(it->second);
        else
            out += text.substr(i, len);
        i += len;
    }
    return out;
}

} // namespace tailor
