#include "size_args.h"
#include "cli_args.h"

#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "core/util/error.h"

#include <cctype>
#include <cmath>
#include <regex>

namespace tailor::cli {

namespace {
// "3.5M" -> 3670016; -1 when it is not a size
double parseSize(const std::string& s)
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
} // namespace

double targetFileBytes(const std::string& text, const Model& model, const Imatrix* imatrix, const std::string& option,
                       std::string* sizeOf)
{
    const double bytes = parseSize(text);
    if (bytes >= 0)
        return bytes;
    GgufExportOptions go;
    try {
        go.type = gguf::mixture(text).name;
    } catch (const Error&) {
        throw UsageError(option + " " + text + ": a size in bytes (3500000, 3.5M, 1.2G) or a GGUF type (q4_k_m)");
    }
    go.imatrix = imatrix;
    if (sizeOf)
        *sizeOf = go.type;
    return double(ggufFileSize(model, {}, go));
}

} // namespace tailor::cli
