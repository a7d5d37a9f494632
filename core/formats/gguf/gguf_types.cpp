#include "gguf_types.h"
#include "core/util/error.h"

#include <algorithm>
#include <cctype>

namespace tailor::gguf {

const std::vector<TypeInfo>& ggmlTypes()
{
    // block bytes as in ggml-common.h's block_* structs
    static const std::vector<TypeInfo> rows = {
        {TensorType::F32, "F32", 1, 4, false, false},
        {TensorType::F16, "F16", 1, 2, false, false},
        {TensorType::BF16, "BF16", 1, 2, false, false},
        {TensorType::Q4_0, "Q4_0", 32, 18, true, true},
        {TensorType::Q4_1, "Q4_1", 32, 20, true, true},
        {TensorType::Q5_0, "Q5_0", 32, 22, true, true},
        {TensorType::Q5_1, "Q5_1", 32, 24, true, true},
        {TensorType::Q8_0, "Q8_0", 32, 34, true, false},
        {TensorType::Q2_K, "Q2_K", 256, 84, true, true},
        {TensorType::Q3_K, "Q3_K", 256, 110, true, true},
        {TensorType::Q4_K, "Q4_K", 256, 144, true, true},
        {TensorType::Q5_K, "Q5_K", 256, 176, true, true},
        {TensorType::Q6_K, "Q6_K", 256, 210, true, true},
        {TensorType::IQ4_NL, "IQ4_NL", 32, 18, true, true},
        {TensorType::IQ4_XS, "IQ4_XS", 256, 136, true, true},
        {TensorType::TQ1_0, "TQ1_0", 256, 54, true, false},
        {TensorType::TQ2_0, "TQ2_0", 256, 66, true, false},
        // i-quants on a grid: llama-quantize refuses those marked "needs an
        // imatrix" without importance weights (tensor_requires_imatrix)
        {TensorType::IQ3_XXS, "IQ3_XXS", 256, 98, true, true, true},
        {TensorType::IQ3_S, "IQ3_S", 256, 110, true, true},
        {TensorType::IQ2_XXS, "IQ2_XXS", 256, 66, true, true, true},
        {TensorType::IQ2_XS, "IQ2_XS", 256, 74, true, true, true},
        {TensorType::IQ2_S, "IQ2_S", 256, 82, true, true, true},
        {TensorType::IQ1_S, "IQ1_S", 256, 50, true, true, true},
        {TensorType::IQ1_M, "IQ1_M", 256, 56, true, true, true},
    };
    return rows;
}

namespace {
const TypeInfo* find(uint32_t id)
{
    for (const TypeInfo& r : ggmlTypes())
        if (uint32_t(r.type) == id)
            return &r;
    return nullptr;
}
} // namespace

const TypeInfo& typeInfo(TensorType t)
{
    if (const TypeInfo* r = find(uint32_t(t)))
        return *r;
    throw Error("ggml type " + std::to_string(uint32_t(t)) + " is not supported");
}

std::string typeName(TensorType t)
{
    const TypeInfo* r = find(uint32_t(t));
    return r ? r->name : "type " + std::to_string(uint32_t(t));
}

bool knownType(uint32_t t)
{
    return find(t) != nullptr;
}

std::optional<TensorType> typeFromName(const std::string& name)
{
    std::string up = name;
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    for (const TypeInfo& r : ggmlTypes())
        if (up == r.name)
            return r.type;
    return std::nullopt;
}

std::string typeNames()
{
    std::string s;
    for (const TypeInfo& r : ggmlTypes()) {
        std::string n = r.name;
        std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        s += (s.empty() ? "" : ", ") + n;
    }
    return s;
}

int64_t blockSize(TensorType t)
{
    return typeInfo(t).block;
}

int64_t rowBytes(TensorType t, int64_t n)
{
    const TypeInfo& r = typeInfo(t);
    return n / r.block * r.blockBytes;
}

} // namespace tailor::gguf
