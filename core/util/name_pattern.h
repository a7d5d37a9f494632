#pragma once
// Whether a tensor name matches a user's pattern, as std::regex_search would
// decide (ECMAScript), but fast for the patterns plans are made of: a size
// budget writes one anchored literal rule per tensor ("^model\.layers\.3\.mlp
// \.up_proj\.weight$"), and asking each of ~200 tensors against ~200 such
// rules through std::regex took milliseconds on the GUI thread. Literal
// patterns (optionally anchored, with escaped punctuation) are compared as
// strings; anything else is compiled once per pattern and cached.
#include <string>

namespace tailor {

bool nameMatches(const std::string& pattern, const std::string& name);

// Why a pattern cannot be used ("'(' is not a valid regular expression"), or
// empty when it can: the one check behind the plan reader and the tables
// that edit patterns in the GUI.
std::string patternError(const std::string& pattern);

} // namespace tailor
