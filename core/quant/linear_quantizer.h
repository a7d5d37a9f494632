#pragma once
// Quantize -> dequantize of a weight matrix [out, in] in fp32 ("fake quant"),
// exactly as the goldens define the linear schemes, and through llama.cpp's own
// quantizers for its block types (see quant_scheme.h).
#include "quant_scheme.h"

#include <ATen/ATen.h>
#include <vector>

namespace tailor {

// Per block (row of the [blocks, blockSize] view): the scale and zero point and
// the integer range, for range lines in histograms and for export.
struct QuantGrid {
    at::Tensor scale; // [blocks] fp32; for llama.cpp types the effective scale of each sub-block as stored
    at::Tensor zero;  // [blocks] fp32, 0 for symmetric formats; x̂ = (q - zero) * scale
    int64_t qmin = 0, qmax = 0;
    int64_t blockSize = 0;
};

// w: fp32 [out, in]; returns r̂ of the same shape. `grid` (optional) receives the scales.
at::Tensor fakeQuantize(const at::Tensor& w, const QuantScheme& s, QuantGrid* grid = nullptr);

// fakeQuantize, with an importance matrix's column weights for the llama.cpp
// types that take them (ignored by the others, and when empty): what
// llama-quantize --imatrix makes of w.
at::Tensor fakeQuantizeWeighted(const at::Tensor& w, const QuantScheme& s, const std::vector<float>& importance);

// ||XW^T - XŴ^T|| / ||XW^T||: a quantized layer's relative output error on
// inputs x [..., in] (the quantization report and the budget's sensitivities).
double outputError(const at::Tensor& x, const at::Tensor& w, const at::Tensor& deq);

} // namespace tailor
