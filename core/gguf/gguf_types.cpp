#include "gguf_types.h"

namespace tailor::gguf {

std::string typeName(TensorType t)
{
    switch (t) {
    case TensorType::F32: return "F32";
    case TensorType::F16: return "F16";
    case TensorType::BF16: return "BF16";
    case TensorType::Q8_0: return "Q8_0";
    case TensorType::Q4_0: return "Q4_0";
    }
    return "type " + std::to_string(uint32_t(t));
}

bool knownType(uint32_t t)
{
    return t == 0 || t == 1 || t == 2 || t == 8 || t == 30;
}

int64_t rowBytes(TensorType t, int64_t n)
{
    switch (t) {
    case TensorType::F32: return 4 * n;
    case TensorType::F16:
    case TensorType::BF16: return 2 * n;
    case TensorType::Q8_0: return n / kBlock * kQ8_0Bytes;
    case TensorType::Q4_0: return n / kBlock * kQ4_0Bytes;
    }
    return 0;
}

} // namespace tailor::gguf
