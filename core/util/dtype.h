#pragma once
// Element types a checkpoint may store, with their safetensors spelling.
#include <cstddef>
#include <optional>
#include <string>

namespace tailor {

enum class DType { F32, F16, BF16, I8, U8, I32, I64 };

std::optional<DType> dtypeFromSafetensors(const std::string& name);
std::string dtypeName(DType t);
std::size_t dtypeSize(DType t);

} // namespace tailor
