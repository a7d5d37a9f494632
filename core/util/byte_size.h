#pragma once
// A size as people type it: "3500000", "3.5M", "1.2G" (K/M/G are 1024-based).
#include <string>

namespace tailor {

// The bytes, or -1 when the text is not a size.
double parseByteSize(const std::string& text);

} // namespace tailor
