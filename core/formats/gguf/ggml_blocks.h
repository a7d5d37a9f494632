#pragma once
// Encodes a weight matrix as rows of a ggml type with llama.cpp's own
// quantizers (ggml_quants.h), rows spread over the compute threads.
#include "gguf_types.h"

#include <ATen/ATen.h>
#include <QByteArray>
#include <vector>

namespace tailor::gguf {

// w: [rows, cols] (any float dtype); imatrix: empty or cols importance weights.
QByteArray encodeRows(const at::Tensor& w, TensorType type, const std::vector<float>& imatrix = {});

// The values llama.cpp will compute with: quantize then dequantize, [rows, cols] fp32.
at::Tensor roundTrip(const at::Tensor& w, TensorType type, const std::vector<float>& imatrix = {});

} // namespace tailor::gguf
