#pragma once
// GGUF v3 constants (llama.cpp's ggml/include/gguf.h and ggml.h): metadata
// value types, the tensor types Tailor writes and reads, and block layouts.
#include <cstdint>
#include <string>

namespace tailor::gguf {

constexpr uint32_t kMagic = 0x46554747; // "GGUF" read as a little-endian uint32
constexpr uint32_t kVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;

enum class ValueType : uint32_t {
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};

// ggml_type ids of the formats Tailor handles.
enum class TensorType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, BF16 = 30 };

// Q8_0: {fp16 d; int8 q[32]}; Q4_0: {fp16 d; uint8 q[16]}, element j in the low
// nibble of q[j], element j + 16 in the high nibble, stored as q + 8.
constexpr int64_t kBlock = 32;
constexpr int64_t kQ8_0Bytes = 34;
constexpr int64_t kQ4_0Bytes = 18;

std::string typeName(TensorType t);
bool knownType(uint32_t t);
// Bytes of a row of n elements (n a multiple of 32 for the block formats).
int64_t rowBytes(TensorType t, int64_t n);

} // namespace tailor::gguf
