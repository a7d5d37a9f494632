#include "ggml_scales.h"
#include "ggml_fp16.h"
#include "core/util/error.h"

#include <cstring>

namespace tailor::gguf {

namespace {
uint16_t u16(const uint8_t* p)
{
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

// dl * q - ml as (q - zero) * scale
void push(SubBlockScales& s, float dl, float ml)
{
    s.scale.push_back(dl);
    s.zero.push_back(dl != 0 ? ml / dl : 0.f);
}
} // namespace

void scaleMinK4(int j, const uint8_t* q, uint8_t* d, uint8_t* m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = uint8_t((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}


SubBlockScales subBlockScales(TensorType type, const void* data, int64_t n)
{
    const TypeInfo& info = typeInfo(type);
    if (!info.quantized)
        throw Error(std::string(info.name) + " has no block scales");
    const auto* p = static_cast<const uint8_t*>(data);
    const int64_t blocks = n / info.block;
    SubBlockScales s;
    for (int64_t b = 0; b < blocks; ++b, p += info.blockBytes) {
        switch (type) {
        case TensorType::Q4_0: s.subBlock = 32, s.qmin = 0, s.qmax = 15; s.scale.push_back(halfToFloat(u16(p))), s.zero.push_back(8); break;
        case TensorType::Q5_0: s.subBlock = 32, s.qmin = 0, s.qmax = 31; s.scale.push_back(halfToFloat(u16(p))), s.zero.push_back(16); break;
        case TensorType::Q8_0: s.subBlock = 32, s.qmin = -128, s.qmax = 127; s.scale.push_back(halfToFloat(u16(p))), s.zero.push_back(0); break;
        case TensorType::Q4_1:
        case TensorType::Q5_1: // x = q * d + m
            s.subBlock = 32, s.qmin = 0, s.qmax = type == TensorType::Q4_1 ? 15 : 31;
            push(s, halfToFloat(u16(p)), -halfToFloat(u16(p + 2)));
            break;
        case TensorType::Q2_K: { // scales[16], qs[64], d, dmin
            s.subBlock = 16, s.qmin = 0, s.qmax = 3;
            const float d = halfToFloat(u16(p + 80)), dmin = halfToFloat(u16(p + 82));
            for (int j = 0; j < 16; ++j)
                push(s, d * (p[j] & 0xF), dmin * (p[j] >> 4));
            break;
        }
        case TensorType::Q3_K: { // hmask[32], qs[64], scales[12], d
            s.subBlock = 16, s.qmin = 0, s.qmax = 7;
            const uint8_t* sc = p + 96;
            const float d = halfToFloat(u16(p + 108));
            for (int j = 0; j < 16; ++j) {
                int v = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4;
                v = (v | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
                s.scale.push_back(d * v);
                s.zero.push_back(4); // (q - 4) * dl
            }
            break;
        }
        case TensorType::Q4_K:
        case TensorType::Q5_K: { // d, dmin, scales[12], ...
            s.subBlock = 32, s.qmin = 0, s.qmax = type == TensorType::Q4_K ? 15 : 31;
            const float d = halfToFloat(u16(p)), dmin = halfToFloat(u16(p + 2));
            for (int j = 0; j < 8; ++j) {
                uint8_t sc, m;
                scaleMinK4(j, p + 4, &sc, &m);
                push(s, d * sc, dmin * m);
            }
            break;
        }
        case TensorType::Q6_K: { // ql[128], qh[64], scales[16] (int8), d
            s.subBlock = 16, s.qmin = 0, s.qmax = 63;
            const float d = halfToFloat(u16(p + 208));
            for (int j = 0; j < 16; ++j) {
                s.scale.push_back(d * int8_t(p[192 + j]));
                s.zero.push_back(32);
            }
            break;
        }
        case TensorType::IQ4_NL: // d, qs[16]: levels -127 … 113 (non-linear) times d
            s.subBlock = 32, s.qmin = -127, s.qmax = 113;
            push(s, halfToFloat(u16(p)), 0);
            break;
        case TensorType::IQ4_XS: { // d, scales_h, scales_l[4], qs[128]: sub-block j at d·(6-bit scale − 32)
            s.subBlock = 32, s.qmin = -127, s.qmax = 113;
            const float d = halfToFloat(u16(p));
            const uint16_t h = u16(p + 2);
            for (int j = 0; j < 8; ++j) {
                const int ls = ((p[4 + j / 2] >> 4 * (j % 2)) & 0xf) | (((h >> 2 * j) & 3) << 4);
                push(s, d * float(ls - 32), 0);
            }
            break;
        }
        default: throw Error(std::string(info.name) + " has no block scales");
        }
    }
    return s;
}

} // namespace tailor::gguf
