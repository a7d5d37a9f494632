#include "dtype.h"

namespace tailor {

namespace {
struct DTypeRow { DType type; const char* name; std::size_t size; };
constexpr DTypeRow kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I8, "I8", 1},   {DType::U8, "U8", 1},   {DType::I32, "I32", 4},
    {DType::I64, "I64", 8},
};
} // namespace

std::optional<DType> dtypeFromSafetensors(const std::string& name)
{
    for (const auto& r : kDTypes)
        if (name == r.name)
            return r.type;
    return std::nullopt;
}

std::string dtypeName(DType t)
{
    for (const auto& r : kDTypes)
        if (r.type == t)
            return r.name;
    return "?";
}

std::size_t dtypeSize(DType t)
{
    for (const auto& r : kDTypes)
        if (r.type == t)
            return r.size;
    return 0;
}

} // namespace tailor
