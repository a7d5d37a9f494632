#include "size_args.h"
#include "cli_args.h"

#include "core/compress/budget_search.h"

namespace tailor::cli {

double targetFileBytes(const std::string& text, const Model& model, const Imatrix* imatrix, const std::string& option,
                       std::string* sizeOf)
{
    if (!isFileBudget(text))
        throw UsageError(option + " " + text + ": a size in bytes (3500000, 3.5M, 1.2G) or a GGUF type (q4_k_m)");
    return double(fileBudgetBytes(model, text, imatrix, sizeOf));
}

} // namespace tailor::cli
