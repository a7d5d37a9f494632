#include "byte_size.h"

#include <cctype>
#include <cmath>
#include <regex>

namespace tailor {

double parseByteSize(const std::string& s)
{
    static const std::regex rx("([0-9]+(\\.[0-9]+)?)([kKmMgG]?)");
    std::smatch m;
    if (!std::regex_match(s, m, rx))
        return -1;
    double v = std::stod(m[1]);
    const char u = m[3].length() ? char(std::toupper(m[3].str()[0])) : ' ';
    v *= u == 'K' ? 1024.0 : u == 'M' ? 1048576.0 : u == 'G' ? 1073741824.0 : 1.0;
    return std::floor(v);
}

} // namespace tailor
