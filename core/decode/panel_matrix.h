#pragma once
// A block-quantized matrix repacked for products with many tokens at once
// (prefill, evaluation): 16 rows interleaved four values at a time, so one
// 64-byte load holds four codes of each of 16 rows, and an int8 dot-product
// instruction (VNNI dpbusd, or maddubs) against four broadcast input values
// leaves one partial sum per row in each lane — no horizontal sums, and one
// load serves every token of a tile. llama.cpp repacks Q4_0/Q4_K the same way
// (Q4_0x8, Q4_Kx8) for its GEMM kernels.
//
// Every supported type is put in one form: weight(r, k) = s·u + m, where u is
// an unsigned code (4 bits, two per byte, for Q4_0/Q4_1/Q4_K; 8 bits for the
// others) and s, m are fp32 per row and per sub-block of `sub` values (32, or
// 16 for Q6_K). Q4_0's (q − 8)·d becomes u = q, s = d, m = −8d; Q8_0's signed
// q becomes u = q + 128, m = −128d; Q4_K's d·sc·q − dmin·mn gives s = d·sc,
// m = −dmin·mn; the i-quants IQ4_NL/IQ4_XS (scale × one of 16 signed levels)
// hold level + 128 with m = −128·scale. One kernel then serves every type;
// the table in the .cpp is where a type is added. Torch-free.
#include "packed_matrix.h"

#include <cstdint>
#include <memory>

namespace tailor::decode {

constexpr int kPanelRows = 16;

struct PanelMatrix {
    gguf::TensorType type = gguf::TensorType::F32;
    int64_t rows = 0, cols = 0;
    int sub = 32;          // values per (s, m) pair
    bool nibbles = false;  // codes are 4 bits, two a byte (k..k+3 low, k+4..k+7 high)
    bool wide_codes = false; // codes may exceed 127 (Q8_0): maddubs would saturate
    // [group][cols/4 (cols/8 with nibbles)][16 rows][4 bytes]
    std::shared_ptr<uint8_t[]> values;
    // [group][cols/sub][16 rows] each
    std::shared_ptr<float[]> scales, mins;

    int64_t groups() const { return (rows + kPanelRows - 1) / kPanelRows; }
    int64_t groupValueBytes() const { return nibbles ? cols * kPanelRows / 2 : cols * kPanelRows; }
    int64_t groupScaleCount() const { return cols / sub * kPanelRows; }
    const uint8_t* groupValues(int64_t g) const { return values.get() + g * groupValueBytes(); }
    const float* groupScales(int64_t g) const { return scales.get() + g * groupScaleCount(); }
    const float* groupMins(int64_t g) const { return mins.get() + g * groupScaleCount(); }
    int64_t bytes() const { return groups() * (groupValueBytes() + 2 * 4 * groupScaleCount()); }
    bool empty() const { return rows == 0; }
};

// Whether makePanels takes this type.
bool hasPanelForm(gguf::TensorType type);
// The panels of a packed matrix (rows past the end of the last group are
// zero). Throws for a type hasPanelForm refuses.
PanelMatrix makePanels(const PackedMatrix& m);
// Element (r, k) as s·u + m, for tests (it equals the type's dequantization).
float panelValue(const PanelMatrix& p, int64_t r, int64_t k);

} // namespace tailor::decode
