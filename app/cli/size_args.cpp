#include "size_args.h"
#include "cli_args.h"

#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "core/util/byte_size.h"
#include "core/util/error.h"

namespace tailor::cli {

double targetFileBytes(const std::string& text, const Model& model, const Imatrix* imatrix, const std::string& option,
                       std::string* sizeOf)
{
    const double bytes = parseByteSize(text);
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
