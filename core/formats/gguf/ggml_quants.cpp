#include "ggml_quants.h"
#include "ggml_fp16.h"
#include "ggml_quants_impl.h"
#include "core/util/error.h"

#include <cstring>

namespace tailor::gguf {

namespace {
using QuantizeFn = void (*)(const float*, void*, int64_t, const float*);
using DequantizeFn = void (*)(const void*, float*, int64_t);

struct Kernels {
    TensorType type;
    QuantizeFn quantize;
    DequantizeFn dequantize;
};

const Kernels* kernelsOf(TensorType t)
{
    using namespace kernels;
    static const Kernels rows[] = {
        {TensorType::Q4_0, quantizeQ4_0, dequantizeQ4_0}, {TensorType::Q4_1, quantizeQ4_1, dequantizeQ4_1},
        {TensorType::Q5_0, quantizeQ5_0, dequantizeQ5_0}, {TensorType::Q5_1, quantizeQ5_1, dequantizeQ5_1},
        {TensorType::Q8_0, quantizeQ8_0, dequantizeQ8_0}, {TensorType::Q2_K, quantizeQ2_K, dequantizeQ2_K},
        {TensorType::Q3_K, quantizeQ3_K, dequantizeQ3_K}, {TensorType::Q4_K, quantizeQ4_K, dequantizeQ4_K},
        {TensorType::Q5_K, quantizeQ5_K, dequantizeQ5_K}, {TensorType::Q6_K, quantizeQ6_K, dequantizeQ6_K},
        {TensorType::IQ4_NL, quantizeIQ4_NL, dequantizeIQ4_NL}, {TensorType::IQ4_XS, quantizeIQ4_XS, dequantizeIQ4_XS},
        {TensorType::TQ1_0, quantizeTQ1_0, dequantizeTQ1_0}, {TensorType::TQ2_0, quantizeTQ2_0, dequantizeTQ2_0},
        {TensorType::IQ2_XXS, quantizeIQ2_XXS, dequantizeIQ2_XXS}, {TensorType::IQ2_XS, quantizeIQ2_XS, dequantizeIQ2_XS},
        {TensorType::IQ2_S, quantizeIQ2_S, dequantizeIQ2_S},     {TensorType::IQ3_XXS, quantizeIQ3_XXS, dequantizeIQ3_XXS},
        {TensorType::IQ3_S, quantizeIQ3_S, dequantizeIQ3_S},     {TensorType::IQ1_S, quantizeIQ1_S, dequantizeIQ1_S},
        {TensorType::IQ1_M, quantizeIQ1_M, dequantizeIQ1_M},
    };
    for (const Kernels& k : rows)
        if (k.type == t)
            return &k;
    return nullptr;
}

uint16_t floatToBf16(float f)
{
    const uint32_t u = floatBits(f);
    if ((u & 0x7fffffff) > 0x7f800000)
        return uint16_t((u >> 16) | 64); // NaN stays a quiet NaN
    return uint16_t((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}
} // namespace

std::size_t quantizeRows(TensorType type, const float* src, void* dst, int64_t nrows, int64_t nPerRow, const float* imatrix)
{
    const TypeInfo& info = typeInfo(type);
    if (nPerRow % info.block != 0)
        throw Error(std::string(info.name) + " needs rows of a multiple of " + std::to_string(info.block) + " elements, not " +
                    std::to_string(nPerRow));
    const int64_t rowSize = rowBytes(type, nPerRow);
    auto* out = static_cast<uint8_t*>(dst);
    const int64_t n = nrows * nPerRow;
    switch (type) {
    case TensorType::F32: std::memcpy(dst, src, std::size_t(n) * 4); return std::size_t(n * 4);
    case TensorType::F16:
        for (int64_t i = 0; i < n; ++i) {
            const uint16_t h = floatToHalf(src[i]);
            std::memcpy(out + 2 * i, &h, 2);
        }
        return std::size_t(n * 2);
    case TensorType::BF16:
        for (int64_t i = 0; i < n; ++i) {
            const uint16_t h = floatToBf16(src[i]);
            std::memcpy(out + 2 * i, &h, 2);
        }
        return std::size_t(n * 2);
    default: break;
    }
    const Kernels* k = kernelsOf(type);
    // the importance weights are per column, the same for every row
    const float* qw = info.takesImatrix ? imatrix : nullptr;
    for (int64_t r = 0; r < nrows; ++r)
        k->quantize(src + r * nPerRow, out + r * rowSize, nPerRow, qw);
    return std::size_t(nrows * rowSize);
}

void dequantizeRows(TensorType type, const void* src, float* dst, int64_t n)
{
    const auto* in = static_cast<const uint8_t*>(src);
    switch (type) {
    case TensorType::F32: std::memcpy(dst, src, std::size_t(n) * 4); return;
    case TensorType::F16:
        for (int64_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, in + 2 * i, 2);
            dst[i] = halfToFloat(h);
        }
        return;
    case TensorType::BF16:
        for (int64_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, in + 2 * i, 2);
            dst[i] = bitsFloat(uint32_t(h) << 16);
        }
        return;
    default: break;
    }
    if (n % blockSize(type) != 0)
        throw Error(typeName(type) + " data of " + std::to_string(n) + " values is not whole blocks");
    kernelsOf(type)->dequantize(src, dst, n);
}

} // namespace tailor::gguf
