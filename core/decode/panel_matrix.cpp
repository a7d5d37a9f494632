#include "panel_matrix.h"
#include "core/formats/gguf/ggml_block_layouts.h"
#include "core/formats/gguf/ggml_fp16.h"
#include "core/formats/gguf/ggml_scales.h"
#include "core/util/error.h"

#include <ATen/Parallel.h>

#include <cstring>
#include <vector>

namespace tailor::decode {

namespace {

using gguf::TensorType;

float half(uint16_t h) { return gguf::halfToFloat(h); }

// One row of blocks as codes u[cols] and per-sub-block s, m (weight = s·u + m).
using RowUnpack = void (*)(const uint8_t* row, int64_t cols, uint8_t* u, float* s, float* m);

// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: blocks of 32 with value j in the low nibble of
// qs[j] (j < 16) or the high one of qs[j − 16], bit j of qh adding 16.
template <class Block, bool HasMin, bool HighBit>
void unpackLegacy(const uint8_t* row, int64_t cols, uint8_t* u, float* s, float* m)
{
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (int64_t b = 0; b < cols / 32; ++b) {
        const Block& blk = blocks[b];
        uint32_t qh = 0;
        if constexpr (HighBit)
            std::memcpy(&qh, blk.qh, 4);
        for (int j = 0; j < 32; ++j) {
            int v = j < 16 ? blk.qs[j] & 0x0F : blk.qs[j - 16] >> 4;
            if constexpr (HighBit)
                v |= int((qh >> j) & 1) << 4;
            u[b * 32 + j] = uint8_t(v);
        }
        s[b] = half(blk.d);
        if constexpr (HasMin)
            m[b] = half(blk.m);
        else
            m[b] = -(HighBit ? 16.f : 8.f) * s[b];
    }
}

void unpackQ8_0(const uint8_t* row, int64_t cols, uint8_t* u, float* s, float* m)
{
    const auto* blocks = reinterpret_cast<const gguf::BlockQ8_0*>(row);
    for (int64_t b = 0; b < cols / 32; ++b) {
        for (int j = 0; j < 32; ++j)
            u[b * 32 + j] = uint8_t(int(blocks[b].qs[j]) + 128);
        s[b] = half(blocks[b].d);
        m[b] = -128.f * s[b];
    }
}

// IQ4_NL (blocks of 32, one scale) and IQ4_XS (256 in sub-blocks of 32, scale
// d·(ls − 32)): value = scale·level[index], a signed level of 16, held as
// u = level + 128 (wide codes, as Q8_0's) with m = −128·scale.
void unpackIQ4Codes(const uint8_t* qs, uint8_t* u)
{
    for (int j = 0; j < 16; ++j) {
        u[j] = uint8_t(gguf::kIQ4Levels[qs[j] & 0x0F] + 128);
        u[j + 16] = uint8_t(gguf::kIQ4Levels[qs[j] >> 4] + 128);
    }
}

void unpackIQ4_NL(const uint8_t* row, int64_t cols, uint8_t* u, float* s, float* m)
{
    const auto* blocks = reinterpret_cast<const gguf::BlockIQ4_NL*>(row);
    for (int64_t b = 0; b < cols / 32; ++b) {
        unpackIQ4Codes(blocks[b].qs, u + b * 32);
        s[b] = half(blocks[b].d);
        m[b] = -128.f * s[b];
    }
}

void unpackIQ4_XS(const uint8_t* row, int64_t cols, uint8_t* u, float* s, float* m)
{
    const auto* blocks = reinterpret_cast<const gguf::BlockIQ4_XS*>(row);
    for (int64_t i = 0; i < cols / gguf::kQK_K; ++i) {
        const gguf::BlockIQ4_XS& blk = blocks[i];
        const float d = half(blk.d);
        for (int ib = 0; ib < gguf::kQK_K / 32; ++ib) {
            const int ls = ((blk.scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((blk.scales_h >> 2 * ib) & 3) << 4);
            unpackIQ4Codes(blk.qs + ib * 16, u + i * gguf::kQK_K + ib * 32);
            s[i * 8 + ib] = d * float(ls - 32);
            m[i * 8 + ib] = -128.f * s[i * 8 + ib];
        }
    }
}

// Q4_K, Q5_K: per 64 values 32 bytes of nibbles (low: sub-block 2i, high: 2i+1),
// Q5_K's bit j of qh[l] adding 16 to value l of sub-block j.
template <class Block, bool HighBit>
void unpackK45(const uint8_t* row, int64_t cols, uint8_t* u, float* s, float* m)
{
    const auto* blocks = reinterpret_cast<const Block*>(row);
    for (int64_t i = 0; i < cols / gguf::kQK_K; ++i) {
        const Block& blk = blocks[i];
        const float d = half(blk.d), dmin = half(blk.dmin);
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, mn;
            gguf::scaleMinK4(j, blk.scales, &sc, &mn);
            const uint8_t* qq = blk.qs + (j / 2) * 32;
            uint8_t* out = u + i * gguf::kQK_K + j * 32;
            for (int l = 0; l < 32; ++l) {
                int v = j % 2 ? qq[l] >> 4 : qq[l] & 0x0F;
                if constexpr (HighBit)
                    v |= ((blk.qh[l] >> j) & 1) << 4;
                out[l] = uint8_t(v);
            }
            s[i * 8 + j] = d * float(sc);
            m[i * 8 + j] = -dmin * float(mn);
        }
    }
}

// Q6_K: 16 sub-blocks of 16, (q − 32)·d·sc with q = 4 bits of ql | 2 of qh.
void unpackQ6_K(const uint8_t* row, int64_t cols, uint8_t* u, float* s, float* m)
{
    const auto* blocks = reinterpret_cast<const gguf::BlockQ6_K*>(row);
    for (int64_t i = 0; i < cols / gguf::kQK_K; ++i) {
        const gguf::BlockQ6_K& blk = blocks[i];
        const float d = half(blk.d);
        for (int hf = 0; hf < 2; ++hf) {
            const uint8_t* ql = blk.ql + hf * 64;
            const uint8_t* qh = blk.qh + hf * 32;
            for (int g = 0; g < 4; ++g)
                for (int l = 0; l < 32; ++l) {
                    const uint8_t lo = g % 2 ? ql[l + 32] : ql[l];
                    u[i * gguf::kQK_K + hf * 128 + g * 32 + l] = uint8_t((g < 2 ? lo & 0x0F : lo >> 4) | (((qh[l] >> (2 * g)) & 3) << 4));
                }
        }
        for (int j = 0; j < 16; ++j) {
            s[i * 16 + j] = d * float(blk.scales[j]);
            m[i * 16 + j] = -32.f * s[i * 16 + j];
        }
    }
}

struct PanelForm {
    TensorType type;
    int sub;
    bool nibbles, wide;
    RowUnpack unpack;
};

// The table: a type with a panel form is one row here.
const PanelForm kForms[] = {
    {TensorType::Q8_0, 32, false, true, unpackQ8_0},
    {TensorType::Q4_0, 32, true, false, unpackLegacy<gguf::BlockQ4_0, false, false>},
    {TensorType::Q4_1, 32, true, false, unpackLegacy<gguf::BlockQ4_1, true, false>},
    {TensorType::Q5_0, 32, false, false, unpackLegacy<gguf::BlockQ5_0, false, true>},
    {TensorType::Q5_1, 32, false, false, unpackLegacy<gguf::BlockQ5_1, true, true>},
    {TensorType::Q4_K, 32, true, false, unpackK45<gguf::BlockQ4_K, false>},
    {TensorType::Q5_K, 32, false, false, unpackK45<gguf::BlockQ5_K, true>},
    {TensorType::Q6_K, 16, false, false, unpackQ6_K},
    {TensorType::IQ4_NL, 32, false, true, unpackIQ4_NL},
    {TensorType::IQ4_XS, 32, false, true, unpackIQ4_XS},
};

const PanelForm* formOf(TensorType t)
{
    for (const PanelForm& f : kForms)
        if (f.type == t)
            return &f;
    return nullptr;
}

// Offset of code (r, k) inside a group's values, and its nibble (0 low, 1 high).
inline int64_t codeOffset(bool nibbles, int64_t r, int64_t k)
{
    return nibbles ? (k / 8) * 64 + r * 4 + (k % 4) : (k / 4) * 64 + r * 4 + (k % 4);
}

} // namespace

bool hasPanelForm(gguf::TensorType type) { return formOf(type) != nullptr; }

PanelMatrix makePanels(const PackedMatrix& m)
{
    const PanelForm* f = formOf(m.type);
    if (!f)
        throw Error("no panel form for " + gguf::typeName(m.type) + " weights");
    PanelMatrix p;
    p.type = m.type;
    p.rows = m.rows;
    p.cols = m.cols;
    p.sub = f->sub;
    p.nibbles = f->nibbles;
    p.wide_codes = f->wide;
    const int64_t G = p.groups(), gv = p.groupValueBytes(), gs = p.groupScaleCount();
    // zero-filled, so the rows past the end of the last group multiply to 0
    p.values = std::shared_ptr<uint8_t[]>(new (std::align_val_t(64)) uint8_t[std::size_t(G * gv)](),
                                          [](uint8_t* q) { ::operator delete[](q, std::align_val_t(64)); });
    p.scales = std::shared_ptr<float[]>(new (std::align_val_t(64)) float[std::size_t(G * gs)](),
                                        [](float* q) { ::operator delete[](q, std::align_val_t(64)); });
    p.mins = std::shared_ptr<float[]>(new (std::align_val_t(64)) float[std::size_t(G * gs)](),
                                      [](float* q) { ::operator delete[](q, std::align_val_t(64)); });
    const int64_t nsub = m.cols / f->sub;
    at::parallel_for(0, G, 1, [&](int64_t g0, int64_t g1) {
        std::vector<uint8_t> u(static_cast<std::size_t>(m.cols));
        std::vector<float> s(static_cast<std::size_t>(nsub)), mn(static_cast<std::size_t>(nsub));
        for (int64_t g = g0; g < g1; ++g) {
            uint8_t* vals = p.values.get() + g * gv;
            float* S = p.scales.get() + g * gs;
            float* M = p.mins.get() + g * gs;
            for (int64_t r = 0; r < kPanelRows && g * kPanelRows + r < m.rows; ++r) {
                f->unpack(m.row(g * kPanelRows + r), m.cols, u.data(), s.data(), mn.data());
                for (int64_t k = 0; k < m.cols; ++k) {
                    uint8_t& byte = vals[codeOffset(p.nibbles, r, k)];
                    byte = uint8_t(byte | (p.nibbles && k % 8 >= 4 ? u[std::size_t(k)] << 4 : u[std::size_t(k)]));
                }
                for (int64_t j = 0; j < nsub; ++j) {
                    S[j * kPanelRows + r] = s[std::size_t(j)];
                    M[j * kPanelRows + r] = mn[std::size_t(j)];
                }
            }
        }
    });
    return p;
}

float panelValue(const PanelMatrix& p, int64_t r, int64_t k)
{
    const int64_t g = r / kPanelRows, rr = r % kPanelRows, j = k / p.sub;
    const uint8_t byte = p.groupValues(g)[codeOffset(p.nibbles, rr, k)];
    const int u = p.nibbles ? (k % 8 >= 4 ? byte >> 4 : byte & 0x0F) : byte;
    return p.groupScales(g)[j * kPanelRows + rr] * float(u) + p.groupMins(g)[j * kPanelRows + rr];
}

} // namespace tailor::decode
