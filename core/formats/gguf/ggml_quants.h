#pragma once
// llama.cpp's block formats, quantized and dequantized the way the pinned
// llama.cpp (node-llama-cpp 3.21.1's bundle, ggml/src/ggml-quants.c) does:
// the same search for scales, the same float operations in the same order, so
// that Tailor's GGUF export equals llama-quantize's bytes (tests/core/
// test_llama_oracle.cpp checks every type against libllama itself).
//
// imatrix: one importance weight per column (llama.cpp's "quant_weights": mean
// squared activation of that input channel); null for plain quantization.
// Q8_0 and the float types ignore it, as llama.cpp does.
#include "gguf_types.h"

#include <cstddef>
#include <cstdint>

namespace tailor::gguf {

// nrows rows of nPerRow floats -> nrows * rowBytes(type, nPerRow) bytes at dst.
// nPerRow must be a multiple of the type's block (throws otherwise).
std::size_t quantizeRows(TensorType type, const float* src, void* dst, int64_t nrows, int64_t nPerRow,
                         const float* imatrix);

// n values (a multiple of the block) of one or more rows back to floats.
void dequantizeRows(TensorType type, const void* src, float* dst, int64_t n);

} // namespace tailor::gguf
