// The ternary types TQ1_0 and TQ2_0 (values -1, 0, 1 times one fp16 scale per
// 256, the absolute maximum), as ggml-quants.c's quantize_row_tq{1,2}_0_ref
// write them. TQ2_0 packs 4 trits a byte in 2 bits each; TQ1_0 packs 5 trits
// a byte as a base-3 number scaled to 0..255 (ceil(q·256/243)) so that the
// n-th trit is the top of (byte·3ⁿ)·3 / 256, and the last 16 values 4 a byte.
#include "ggml_block_layouts.h"
#include "ggml_quants_impl.h"
#include "ggml_fp16.h"

#include <cmath>

namespace tailor::gguf::kernels {

namespace {
// (the -1, 0, 1 of x/amax, shifted to 0, 1, 2)
int trit(float x, float id) { return int(std::lround(x * id)) + 1; }

float absMax(const float* x)
{
    float amax = 0.0f;
    for (int j = 0; j < kQK_K; j++)
        amax = std::max(amax, std::fabs(x[j]));
    return amax;
}

constexpr uint8_t kPow3[6] = {1, 3, 9, 27, 81, 243};
} // namespace

void quantizeTQ1_0(const float* x, void* y, int64_t n, const float*)
{
    auto* b = static_cast<BlockTQ1_0*>(y);
    constexpr int qsBytes = int(sizeof(b->qs)), wide = qsBytes - qsBytes % 32; // 48 bytes: 32 + 16
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = absMax(x);
        const float id = d ? 1.0f / d : 0.0f;
        b[i].d = floatToHalf(d);
        auto pack5 = [&](int j, int stride) {
            for (int m = 0; m < stride; ++m) {
                uint8_t q = 0;
                for (int k = 0; k < 5; ++k)
                    q = uint8_t(q * 3 + trit(x[m + k * stride], id));
                b[i].qs[j + m] = uint8_t((uint16_t(q) * 256 + (243 - 1)) / 243);
            }
            x += 5 * stride;
        };
        for (int j = 0; j < wide; j += 32)
            pack5(j, 32);
        for (int j = wide; j < qsBytes; j += 16)
            pack5(j, 16);
        constexpr int qh = int(sizeof(b->qh));
        for (int j = 0; j < qh; ++j) {
            uint8_t q = 0;
            for (int m = 0; m < 4; ++m)
                q = uint8_t(q * 3 + trit(x[j + m * qh], id));
            q = uint8_t(q * 3); // the first value in the most significant trit
            b[i].qh[j] = uint8_t((uint16_t(q) * 256 + (243 - 1)) / 243);
        }
        x += 4 * qh;
    }
}

void quantizeTQ2_0(const float* x, void* y, int64_t n, const float*)
{
    auto* b = static_cast<BlockTQ2_0*>(y);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = absMax(x);
        const float id = d ? 1.0f / d : 0.0f;
        b[i].d = floatToHalf(d);
        for (int j = 0; j < int(sizeof(b->qs)); j += 32) {
            for (int m = 0; m < 32; ++m) {
                uint8_t q = 0;
                for (int k = 0; k < 4; ++k)
                    q = uint8_t(q + ((trit(x[m + k * 32], id) & 3) << (2 * k)));
                b[i].qs[j + m] = q;
            }
            x += 4 * 32;
        }
    }
}

void dequantizeTQ1_0(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockTQ1_0*>(x);
    constexpr int qsBytes = int(sizeof(b->qs)), wide = qsBytes - qsBytes % 32;
    auto value = [](uint8_t byte, int k, float d) {
        const uint8_t q = uint8_t(byte * kPow3[k]); // (wraps, as ggml's uint8_t does)
        return float(int((uint16_t(q) * 3) >> 8) - 1) * d;
    };
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        for (int j = 0; j < wide; j += 32)
            for (int k = 0; k < 5; ++k)
                for (int m = 0; m < 32; ++m)
                    *y++ = value(b[i].qs[j + m], k, d);
        for (int j = wide; j < qsBytes; j += 16)
            for (int k = 0; k < 5; ++k)
                for (int m = 0; m < 16; ++m)
                    *y++ = value(b[i].qs[j + m], k, d);
        for (int k = 0; k < 4; ++k)
            for (int j = 0; j < int(sizeof(b->qh)); ++j)
                *y++ = value(b[i].qh[j], k, d);
    }
}

void dequantizeTQ2_0(const void* x, float* y, int64_t n)
{
    const auto* b = static_cast<const BlockTQ2_0*>(x);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float d = halfToFloat(b[i].d);
        for (int j = 0; j < int(sizeof(b->qs)); j += 32)
            for (int l = 0; l < 4; ++l)
                for (int m = 0; m < 32; ++m)
                    *y++ = float(((b[i].qs[j + m] >> (l * 2)) & 3) - 1) * d;
    }
}

} // namespace tailor::gguf::kernels
