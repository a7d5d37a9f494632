#pragma once
// The scales a quantized ggml tensor actually stores, per sub-block, as
// x̂ = (q - zero) * scale with q in [qmin, qmax]: what the Quantization view
// draws as range lines and scale histograms. K-quants give their effective
// sub-block scales (super-block d times the 4/6-bit sub-scale) and mins.
#include "gguf_types.h"

#include <cstdint>
#include <vector>

namespace tailor::gguf {

struct SubBlockScales {
    int64_t subBlock = 0;     // elements sharing one scale: 32 for the legacy types, 16 or 32 for K-quants
    int64_t qmin = 0, qmax = 0;
    std::vector<float> scale; // one per sub-block, in order
    std::vector<float> zero;  // x̂ = (q - zero) * scale
};

// Sub-block j's 6-bit scale and min of a Q4_K/Q5_K super-block (12 packed bytes q).
void scaleMinK4(int j, const uint8_t* q, uint8_t* d, uint8_t* m);

// data: n values (whole blocks) of a quantized type.
SubBlockScales subBlockScales(TensorType type, const void* data, int64_t n);

} // namespace tailor::gguf
