#pragma once
// Numbers in the Markdown tables of the report and the depth-vs-width
// comparison: fixed digits, and "–" for a figure that was not measured (NaN).
#include <cmath>
#include <sstream>
#include <string>

namespace tailor {

inline std::string markdownNumber(double v, int digits)
{
    if (!std::isfinite(v))
        return "–";
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(digits);
    o << v;
    return o.str();
}

} // namespace tailor
