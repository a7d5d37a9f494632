#pragma once
// GPT-2's byte <-> printable-unicode table used by ByteLevel pre-tokenizers and
// decoders: every byte maps to one visible code point, so a byte string becomes
// a valid unicode token string.
#include <string>

namespace tailor {

// UTF-8 bytes -> the byte-level alphabet (UTF-8 encoded).
std::string bytesToByteLevel(const std::string& bytes);
// Inverse; characters outside the alphabet are kept as their UTF-8 bytes.
std::string byteLevelToBytes(const std::string& text);

} // namespace tailor
