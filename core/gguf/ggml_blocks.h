#pragma once
// Packs a weight matrix into llama.cpp's Q8_0 / Q4_0 blocks with the engine's
// own quantizer (core/quant/linear_quantizer), so that a GGUF export
// dequantizes to exactly the values Tailor measured. Also F32/F16/BF16 rows.
#include "gguf_types.h"

#include <ATen/ATen.h>
#include <QByteArray>

namespace tailor::gguf {

// w: [rows, cols] (any float dtype); rows of cols elements in the given type.
QByteArray encodeRows(const at::Tensor& w, TensorType type);

} // namespace tailor::gguf
