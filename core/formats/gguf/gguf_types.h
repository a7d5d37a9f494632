#pragma once
// GGUF v3 constants (llama.cpp's ggml/include/gguf.h and ggml.h): metadata
// value types, and the table of tensor types Tailor writes and reads (ggml_type
// id, name, block length, block bytes). A new type is a row in ggmlTypes() plus
// its kernels in ggml_quants.cpp.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tailor::gguf {

constexpr uint32_t kMagic = 0x46554747; // "GGUF" read as a little-endian uint32
constexpr uint32_t kVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;

enum class ValueType : uint32_t {
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};

// ggml_type ids (ggml.h) of the formats Tailor handles.
enum class TensorType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35,
};

struct TypeInfo {
    TensorType type;
    const char* name;    // ggml_type_name: "Q4_K"
    int64_t block;       // elements per block (1 for float types)
    int64_t blockBytes;  // bytes per block
    bool quantized;
    bool takesImatrix;   // uses importance weights when given (Q8_0 and the float types do not)
    bool requiresImatrix = false; // llama-quantize refuses it without importance weights (the result would be garbage)
};

const std::vector<TypeInfo>& ggmlTypes();
const TypeInfo& typeInfo(TensorType t); // throws for an id outside the table
std::string typeName(TensorType t);
bool knownType(uint32_t t);
// Case-insensitive "q4_k" -> Q4_K; nullopt when not a row of the table.
std::optional<TensorType> typeFromName(const std::string& name);
// "f32, f16, bf16, q4_0, ..." for error messages.
std::string typeNames();

// Q8_0: {fp16 d; int8 q[32]}; Q4_0: {fp16 d; uint8 q[16]}, element j in the low
// nibble of q[j], element j + 16 in the high nibble, stored as q + 8.
constexpr int64_t kBlock = 32;
constexpr int64_t kSuperBlock = 256; // QK_K of the K-quants
constexpr int64_t kQ8_0Bytes = 34;
constexpr int64_t kQ4_0Bytes = 18;

// Bytes of a row of n elements (n a multiple of the type's block).
int64_t rowBytes(TensorType t, int64_t n);
int64_t blockSize(TensorType t);

} // namespace tailor::gguf
