#pragma once
// Block lists as users type them, in the GUI, the CLI and plan files:
// "2, 5-7, -1". One parser for all of them.
#include <string>
#include <vector>

namespace tailor {

// Indexes in the order written, ranges A-B expanded (inclusive); "" or "none"
// is empty. With nBlocks > 0 a negative index counts from the end (-1 = last)
// and every index must lie in 0..nBlocks-1; with 0 (model unknown) indexes
// must not be negative; with -1 they are returned as written. Throws Error
// starting with `what` and naming the offending item.
std::vector<int> parseBlockList(const std::string& text, int nBlocks, const std::string& what);

} // namespace tailor
