#pragma once
// GPTQ (Frantar et al. 2022): quantize a weight matrix column by column,
// spreading each column's rounding error over the columns not yet quantized
// through the inverse Hessian of the layer's reconstruction loss,
// H = 2XᵀX/N from its calibration inputs. Lazy batch updates in blocks of 128
// columns, damping, dead inputs zeroed, optional act-order (columns by
// decreasing Hessian diagonal; groups then follow that order). Linear schemes
// only (not Q8_0/Q4_0). Returns the dequantized fp32 matrix.
#include "quant_scheme.h"

#include <ATen/ATen.h>

namespace tailor {

struct GptqOptions {
    bool act_order = false;
    double damp = 0.01;   // share of the mean Hessian diagonal added to it
    int64_t block = 128;  // lazy-batch width
};

at::Tensor gptqQuantize(const at::Tensor& w, const at::Tensor& inputs, const QuantScheme& s, const GptqOptions& opt = {});

} // namespace tailor
