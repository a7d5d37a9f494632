// Reading the grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S,
// IQ1_M) as ggml-quants.c's dequantize_row_* does: each group of 8 (or 4)
// values is a grid pattern (ggml_iq_grids) chosen by an index, with signs
// from 7 stored bits (the eighth makes an even count) and a sub-block scale.
// Tailor reads these types (third-party GGUFs) but does not write them yet.
#include "ggml_block_layouts.h"
#include "ggml_quants_impl.h"
#include "ggml_fp16.h"
#include "ggml_iq_grids.h"

#include <cstring>

namespace tailor::gguf::kernels {

namespace {
constexpr float kIq1Delta = 0.125f; // IQ1S_DELTA, IQ1M_DELTA

// The 8 bytes of grid entry i (little-endian, as ggml reads the uint64 table).
template <class T>
const uint8_t* bytesOf(const T* grid, uint32_t i)
{
    return reinterpret_cast<const uint8_t*>(grid + i);
}

float sign(uint8_t signs, int j) { return signs & (1u << j) ? -1.f : 1.f; }
} // namespace

void dequantizeIQ2_XXS(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ2_XXS*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        for (int ib = 0; ib < kQK_K / 32; ++ib) {
            uint32_t aux[2];
            std::memcpy(aux, b[i].qs + 4 * ib, 8);
            const auto* idx = reinterpret_cast<const uint8_t*>(aux);
            const float db = d * (0.5f + float(aux[1] >> 28)) * 0.25f;
            for (int l = 0; l < 4; ++l, y += 8) {
                const uint8_t* g = bytesOf(grids::kIq2xxs, idx[l]);
                const uint8_t s = grids::signsOf(aux[1] >> 7 * l);
                for (int j = 0; j < 8; ++j)
                    y[j] = db * g[j] * sign(s, j);
            }
        }
    }
}

void dequantizeIQ2_XS(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ2_XS*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        for (int ib = 0; ib < kQK_K / 32; ++ib) {
            const float db[2] = {d * (0.5f + float(b[i].scales[ib] & 0xf)) * 0.25f, d * (0.5f + float(b[i].scales[ib] >> 4)) * 0.25f};
            for (int l = 0; l < 4; ++l, y += 8) {
                const uint16_t q = b[i].qs[4 * ib + l];
                const uint8_t* g = bytesOf(grids::kIq2xs, q & 511);
                const uint8_t s = grids::signsOf(q >> 9);
                for (int j = 0; j < 8; ++j)
                    y[j] = db[l / 2] * g[j] * sign(s, j);
            }
        }
    }
}

void dequantizeIQ2_S(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ2_S*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        const uint8_t* qs = b[i].qs;
        const uint8_t* signs = qs + kQK_K / 8;
        for (int ib = 0; ib < kQK_K / 32; ++ib, qs += 4, signs += 4) {
            const float db[2] = {d * (0.5f + float(b[i].scales[ib] & 0xf)) * 0.25f, d * (0.5f + float(b[i].scales[ib] >> 4)) * 0.25f};
            for (int l = 0; l < 4; ++l, y += 8) {
                const uint8_t* g = bytesOf(grids::kIq2s, qs[l] | ((b[i].qh[ib] << (8 - 2 * l)) & 0x300));
                for (int j = 0; j < 8; ++j)
                    y[j] = db[l / 2] * g[j] * sign(signs[l], j);
            }
        }
    }
}

void dequantizeIQ3_XXS(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ3_XXS*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        const uint8_t* qs = b[i].qs;
        const uint8_t* scalesAndSigns = qs + kQK_K / 4;
        for (int ib = 0; ib < kQK_K / 32; ++ib, qs += 8) {
            uint32_t aux;
            std::memcpy(&aux, scalesAndSigns + 4 * ib, 4);
            const float db = d * (0.5f + float(aux >> 28)) * 0.5f;
            for (int l = 0; l < 4; ++l, y += 8) {
                const uint8_t s = grids::signsOf(aux >> 7 * l);
                const uint8_t* g1 = bytesOf(grids::kIq3xxs, qs[2 * l]);
                const uint8_t* g2 = bytesOf(grids::kIq3xxs, qs[2 * l + 1]);
                for (int j = 0; j < 4; ++j) {
                    y[j] = db * g1[j] * sign(s, j);
                    y[j + 4] = db * g2[j] * sign(s, j + 4);
                }
            }
        }
    }
}

void dequantizeIQ3_S(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ3_S*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        const uint8_t* qs = b[i].qs;
        const uint8_t* qh = b[i].qh;
        const uint8_t* signs = b[i].signs;
        for (int ib = 0; ib < kQK_K / 32; ib += 2, qh += 2) {
            const float db[2] = {d * float(1 + 2 * (b[i].scales[ib / 2] & 0xf)), d * float(1 + 2 * (b[i].scales[ib / 2] >> 4))};
            for (int half = 0; half < 2; ++half, qs += 8, signs += 4)
                for (int l = 0; l < 4; ++l, y += 8) {
                    const uint8_t* g1 = bytesOf(grids::kIq3s, qs[2 * l] | ((qh[half] << (8 - 2 * l)) & 256));
                    const uint8_t* g2 = bytesOf(grids::kIq3s, qs[2 * l + 1] | ((qh[half] << (7 - 2 * l)) & 256));
                    for (int j = 0; j < 4; ++j) {
                        y[j] = db[half] * g1[j] * sign(signs[l], j);
                        y[j + 4] = db[half] * g2[j] * sign(signs[l], j + 4);
                    }
                }
        }
    }
}

void dequantizeIQ1_S(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ1_S*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        const uint8_t* qs = b[i].qs;
        for (int ib = 0; ib < kQK_K / 32; ++ib, qs += 4) {
            const uint16_t qh = b[i].qh[ib];
            const float dl = d * float(2 * ((qh >> 12) & 7) + 1);
            const float delta = qh & 0x8000 ? -kIq1Delta : kIq1Delta;
            for (int l = 0; l < 4; ++l, y += 8) {
                const auto* g = reinterpret_cast<const int8_t*>(bytesOf(grids::kIq1s, qs[l] | (((qh >> 3 * l) & 7) << 8)));
                for (int j = 0; j < 8; ++j)
                    y[j] = dl * (g[j] + delta);
            }
        }
    }
}

void dequantizeIQ1_M(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockIQ1_M*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        uint16_t sc[4];
        std::memcpy(sc, b[i].scales, 8);
        const uint16_t scale = uint16_t((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
        const float d = halfToFloat(scale);
        const uint8_t* qs = b[i].qs;
        const uint8_t* qh = b[i].qh;
        for (int ib = 0; ib < kQK_K / 32; ++ib, qs += 4, qh += 2) {
            const float dl[2] = {d * float(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 0)) & 0x7) + 1),
                                 d * float(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1)};
            const uint16_t idx[4] = {uint16_t(qs[0] | ((qh[0] << 8) & 0x700)), uint16_t(qs[1] | ((qh[0] << 4) & 0x700)),
                                     uint16_t(qs[2] | ((qh[1] << 8) & 0x700)), uint16_t(qs[3] | ((qh[1] << 4) & 0x700))};
            const float delta[4] = {qh[0] & 0x08 ? -kIq1Delta : kIq1Delta, qh[0] & 0x80 ? -kIq1Delta : kIq1Delta,
                                    qh[1] & 0x08 ? -kIq1Delta : kIq1Delta, qh[1] & 0x80 ? -kIq1Delta : kIq1Delta};
            for (int l = 0; l < 4; ++l, y += 8) {
                const auto* g = reinterpret_cast<const int8_t*>(bytesOf(grids::kIq1s, idx[l]));
                for (int j = 0; j < 8; ++j)
                    y[j] = dl[l / 2] * (g[j] + delta[l]);
            }
        }
    }
}

} // namespace tailor::gguf::kernels
