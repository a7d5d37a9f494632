#include "row_kernels.h"
#include "core/util/error.h"
#include "core/formats/gguf/ggml_block_layouts.h"
#include "core/formats/gguf/ggml_fp16.h"
#include "core/formats/gguf/ggml_quants.h"
#include "core/formats/gguf/ggml_scales.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>

// Row dot products over the stored formats. Each has a portable version and an
// AVX2/FMA/F16C one chosen at run time (the binary stays generic; the CPUs this
// runs on have had AVX2 since 2013). Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and
// Q6_K (all types of Q4_0 ... Q8_0 and Q4_K_M files) multiply int8 by int8 as
// ggml's x86 kernels do,
// so a quantized model decodes from its packed bytes at the speed its size
// allows. The K types meet the input's Q8_0 blocks (32 values, one scale)
// where ggml uses Q8_K (256 values, one scale): their sub-blocks are 32 or 16
// values, so each sub-block product is one Q8_0 block or half of one. The
// other block types decode each row to fp32 first (correct, not fast).

namespace tailor::decode::kernels {

namespace {
#define TAILOR_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TAILOR_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))

bool detectAvx2()
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

const bool kHasAvx2 = detectAvx2();
// AVX-VNNI (Zen 4+, Alder Lake+): one instruction for the u8·s8 products and their sums
const bool kHasVnni = kHasAvx2 && __builtin_cpu_supports("avxvnni");
bool kAvx2 = kHasAvx2; // the portable kernels can be chosen (tests compare both)

inline float bf16ToFloat(uint16_t v) { return gguf::bitsFloat(uint32_t(v) << 16); }

// ---- portable ---------------------------------------------------------------

float dotF32(const float* w, const float* x, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += w[i] * x[i];
    return s;
}

float dotF16(const uint16_t* w, const float* x, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += gguf::halfToFloat(w[i]) * x[i];
    return s;
}

float dotBF16(const uint16_t* w, const float* x, int64_t n)
{
    float s = 0;
    for (int64_t i = 0; i < n; ++i)
        s += bf16ToFloat(w[i]) * x[i];
    return s;
}

float dotQ8_0(const uint8_t* w, const int8_t* q, const float* d, int64_t n)
{
    float s = 0;
    for (int64_t b = 0; b < n / gguf::kBlock; ++b, w += gguf::kQ8_0Bytes) {
        uint16_t dh;
        std::memcpy(&dh, w, 2);
        const auto* wq = reinterpret_cast<const int8_t*>(w + 2);
        int32_t acc = 0;
        for (int j = 0; j < 32; ++j)
            acc += int32_t(wq[j]) * int32_t(q[b * 32 + j]);
        s += float(acc) * (gguf::halfToFloat(dh) * d[b]);
    }
    return s;
}

float dotQ4_0(const uint8_t* w, const int8_t* q, const float* d, int64_t n)
{
    float s = 0;
    for (int64_t b = 0; b < n / gguf::kBlock; ++b, w += gguf::kQ4_0Bytes) {
        uint16_t dh;
        std::memcpy(&dh, w, 2);
        const uint8_t* nib = w + 2;
        const int8_t* qb = q + b * 32;
        int32_t acc = 0;
        for (int j = 0; j < 16; ++j)
            acc += (int32_t(nib[j] & 0x0F) - 8) * qb[j] + (int32_t(nib[j] >> 4) - 8) * qb[j + 16];
        s += float(acc) * (gguf::halfToFloat(dh) * d[b]);
    }
    return s;
}

// Q4_1, Q5_0, Q5_1: a block of 32 unsigned codes u (4 or 5 bits) with
// value d·u + m (Q5_0: d·(u - 16)). Against a Q8_0 block: d·dx·Σu·x plus
// m·dx·Σx (Q5_0: -16·d·dx·Σx).
struct LegacyLayout {
    int64_t bytes;
    int qs, qh; // offsets of the nibbles and of the 32 high bits (-1: none)
    bool min;
};
constexpr LegacyLayout kQ4_1{sizeof(gguf::BlockQ4_1), offsetof(gguf::BlockQ4_1, qs), -1, true},
    kQ5_0{sizeof(gguf::BlockQ5_0), offsetof(gguf::BlockQ5_0, qs), offsetof(gguf::BlockQ5_0, qh), false},
    kQ5_1{sizeof(gguf::BlockQ5_1), offsetof(gguf::BlockQ5_1, qs), offsetof(gguf::BlockQ5_1, qh), true};

inline int legacyCode(const uint8_t* blk, const LegacyLayout& L, int j)
{
    const uint8_t* qs = blk + L.qs;
    int u = j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4;
    if (L.qh >= 0) {
        uint32_t qh;
        std::memcpy(&qh, blk + L.qh, 4);
        u |= int((qh >> j) & 1) << 4;
    }
    return u;
}

float dotLegacy(const LegacyLayout& L, const uint8_t* w, const int8_t* q, const float* d, const int32_t* sums, int64_t n)
{
    float s = 0;
    for (int64_t b = 0; b < n / gguf::kBlock; ++b, w += L.bytes) {
        uint16_t dh, mh = 0;
        std::memcpy(&dh, w, 2);
        if (L.min)
            std::memcpy(&mh, w + 2, 2);
        int32_t acc = 0;
        for (int j = 0; j < 32; ++j)
            acc += legacyCode(w, L, j) * q[b * 32 + j];
        const float f = gguf::halfToFloat(dh) * d[b];
        s += f * float(acc) + (L.min ? gguf::halfToFloat(mh) * d[b] : -16.f * f) * float(sums[b]);
    }
    return s;
}

// Q4_K (gguf::BlockQ4_K): sub-block j (32 values) is d·sc_j·q - dmin·m_j. Its
// product with a Q8_0 block is dx·(d·sc_j·Σq·x - dmin·m_j·Σx).

float dotQ4_K(const uint8_t* w, const int8_t* q, const float* d, const int32_t* sums, int64_t n)
{
    float s = 0;
    const auto* blocks = reinterpret_cast<const gguf::BlockQ4_K*>(w);
    for (int64_t i = 0; i < n / gguf::kSuperBlock; ++i) {
        const gguf::BlockQ4_K& blk = blocks[i];
        const float dd = gguf::halfToFloat(blk.d), dmin = gguf::halfToFloat(blk.dmin);
        const uint8_t* scales = blk.scales;
        const uint8_t* qs = blk.qs;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            gguf::scaleMinK4(j, scales, &sc, &m);
            const int64_t b = i * 8 + j;
            const uint8_t* qq = qs + (j / 2) * 32;
            const int8_t* x = q + b * 32;
            int32_t acc = 0;
            for (int l = 0; l < 32; ++l)
                acc += int32_t(j % 2 ? qq[l] >> 4 : qq[l] & 0x0F) * x[l];
            s += d[b] * (dd * float(sc) * float(acc) - dmin * float(m) * float(sums[b]));
        }
    }
    return s;
}

// Q6_K (gguf::BlockQ6_K): 16 sub-blocks of 16 values (q - 32)·d·sc; q is 4
// bits of ql and 2 of qh.
inline int q6(const uint8_t* ql, const uint8_t* qh, int g, int l)
{
    // group g of a 128-value half: 0: ql[l] low, 1: ql[l+32] low, 2: ql[l] high, 3: ql[l+32] high
    const uint8_t lo = g % 2 ? ql[l + 32] : ql[l];
    return int(((g < 2 ? lo & 0x0F : lo >> 4) | (((qh[l] >> (2 * g)) & 3) << 4))) - 32;
}

float dotQ6_K(const uint8_t* w, const int8_t* q, const float* d, int64_t n)
{
    float s = 0;
    const auto* blocks = reinterpret_cast<const gguf::BlockQ6_K*>(w);
    for (int64_t i = 0; i < n / gguf::kSuperBlock; ++i) {
        const gguf::BlockQ6_K& blk = blocks[i];
        const float dd = gguf::halfToFloat(blk.d);
        const int8_t* sc = blk.scales;
        for (int half = 0; half < 2; ++half) {
            const uint8_t* ql = blk.ql + half * 64;
            const uint8_t* qh = blk.qh + half * 32;
            for (int g = 0; g < 4; ++g) {
                const int64_t b = i * 8 + half * 4 + g;
                const int8_t* x = q + b * 32;
                int32_t a0 = 0, a1 = 0;
                for (int l = 0; l < 16; ++l) {
                    a0 += q6(ql, qh, g, l) * x[l];
                    a1 += q6(ql, qh, g, l + 16) * x[l + 16];
                }
                s += d[b] * dd * float(sc[half * 8 + 2 * g] * a0 + sc[half * 8 + 2 * g + 1] * a1);
            }
        }
    }
    return s;
}

// ---- AVX2 -------------------------------------------------------------------

TAILOR_AVX2 inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TAILOR_AVX2 inline __m256 loadF16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

TAILOR_AVX2 inline __m256 loadBF16(const uint16_t* p)
{
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

// Four accumulators of eight: enough independent FMAs to hide their latency.
template <class Load>
TAILOR_AVX2 inline float dotVec(Load load, const float* x, int64_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load(i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(load(i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(load(i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(x + i), a0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    return s; // the caller adds the tail (n % 8)
}

struct LoadF32 {
    const float* w;
    TAILOR_AVX2 __m256 operator()(int64_t i) const { return _mm256_loadu_ps(w + i); }
};
struct LoadF16 {
    const uint16_t* w;
    TAILOR_AVX2 __m256 operator()(int64_t i) const { return loadF16(w + i); }
};
struct LoadBF16 {
    const uint16_t* w;
    TAILOR_AVX2 __m256 operator()(int64_t i) const { return loadBF16(w + i); }
};

TAILOR_AVX2 float dotF32Avx(const float* w, const float* x, int64_t n)
{
    const int64_t m = n & ~int64_t(7);
    return dotVec(LoadF32{w}, x, m) + dotF32(w + m, x + m, n - m);
}

TAILOR_AVX2 float dotF16Avx(const uint16_t* w, const float* x, int64_t n)
{
    const int64_t m = n & ~int64_t(7);
    return dotVec(LoadF16{w}, x, m) + dotF16(w + m, x + m, n - m);
}

TAILOR_AVX2 float dotBF16Avx(const uint16_t* w, const float* x, int64_t n)
{
    const int64_t m = n & ~int64_t(7);
    return dotVec(LoadBF16{w}, x, m) + dotBF16(w + m, x + m, n - m);
}

// int8 · int8 over 32 lanes -> 8 int32 sums as floats (ggml's mul_sum_i8_pairs_float):
// maddubs wants one unsigned operand, so |w| and x·sign(w).
TAILOR_AVX2 inline __m256 dotI8x32(__m256i w, __m256i x)
{
    const __m256i ax = _mm256_sign_epi8(w, w), sx = _mm256_sign_epi8(x, w);
    const __m256i p16 = _mm256_maddubs_epi16(ax, sx);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

TAILOR_AVX2 float dotQ8_0Avx(const uint8_t* w, const int8_t* q, const float* d, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    const int64_t nb = n / gguf::kBlock;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 2 * gguf::kQ8_0Bytes) {
        uint16_t d0, d1;
        std::memcpy(&d0, w, 2);
        std::memcpy(&d1, w + gguf::kQ8_0Bytes, 2);
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2));
        const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + gguf::kQ8_0Bytes + 2));
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32 + 32));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(d0) * d[b]), dotI8x32(w0, x0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(d1) * d[b + 1]), dotI8x32(w1, x1), acc1);
    }
    float s = hsum(_mm256_add_ps(acc0, acc1));
    if (b < nb)
        s += dotQ8_0(w, q + b * 32, d + b, 32);
    return s;
}

// 16 bytes of nibbles -> 32 int8 in [-8, 7]: low nibbles are elements 0..15, high ones 16..31.
TAILOR_AVX2 inline __m256i unpackQ4(const uint8_t* p)
{
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0F)), _mm256_set1_epi8(8));
}

TAILOR_AVX2 float dotQ4_0Avx(const uint8_t* w, const int8_t* q, const float* d, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    const int64_t nb = n / gguf::kBlock;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 2 * gguf::kQ4_0Bytes) {
        uint16_t d0, d1;
        std::memcpy(&d0, w, 2);
        std::memcpy(&d1, w + gguf::kQ4_0Bytes, 2);
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32 + 32));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(d0) * d[b]), dotI8x32(unpackQ4(w + 2), x0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(d1) * d[b + 1]), dotI8x32(unpackQ4(w + gguf::kQ4_0Bytes + 2), x1), acc1);
    }
    float s = hsum(_mm256_add_ps(acc0, acc1));
    if (b < nb)
        s += dotQ4_0(w, q + b * 32, d + b, 32);
    return s;
}

// 32 unsigned values (0..63) times 32 int8 -> 8 int32 sums as floats; lanes 0-3
// cover values 0-15, lanes 4-7 values 16-31.
TAILOR_AVX2 inline __m256 dotU8x32(__m256i w, __m256i x)
{
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1)));
}

// The eight 6-bit scales and mins of a Q4_K super-block as bytes (ggml's
// kmask shuffle): scales in bytes 0-7, mins in bytes 8-15.
inline void unpackScalesK4(const uint8_t* packed, uint8_t out[16])
{
    uint32_t u[4];
    std::memcpy(u, packed, 12);
    const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    u[3] = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
    const uint32_t m = u[1] & k1;
    u[1] = (u[2] & k2) | (((u[0] >> 6) & k3) << 4);
    u[2] = m;
    u[0] &= k1;
    std::memcpy(out, u, 16);
}

// All eight sub-block factors at once: scale_j = d·sc_j·dx_j in a vector, one
// lane broadcast per sub-block; the mins as one vector product per super-block.
TAILOR_AVX2 float dotQ4_KAvx(const uint8_t* w, const int8_t* q, const float* d, const int32_t* sums, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, mins = acc0;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const auto* blocks = reinterpret_cast<const gguf::BlockQ4_K*>(w);
    for (int64_t i = 0; i < n / gguf::kSuperBlock; ++i) {
        const gguf::BlockQ4_K& blk = blocks[i];
        const uint16_t dh = blk.d, mh = blk.dmin;
        alignas(16) uint8_t sm[16];
        unpackScalesK4(blk.scales, sm);
        const __m128i smv = _mm_load_si128(reinterpret_cast<const __m128i*>(sm));
        const __m256 dx = _mm256_loadu_ps(d + i * 8);
        const __m256 scales = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(dh)), dx), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(smv)));
        const __m256 mv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(smv, 8)));
        const __m256 sv = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums + i * 8)));
        mins = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(mh)), dx), _mm256_mul_ps(mv, sv), mins);
        const uint8_t* qs = blk.qs;
        const int8_t* x = q + i * 256;
        for (int j = 0; j < 8; j += 2) {
            const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + (j / 2) * 32));
            const __m256i lo = _mm256_and_si256(bytes, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
            const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j * 32));
            const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j * 32 + 32));
            acc0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(scales, _mm256_set1_epi32(j)), dotU8x32(lo, x0), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(scales, _mm256_set1_epi32(j + 1)), dotU8x32(hi, x1), acc1);
        }
    }
    return hsum(_mm256_add_ps(acc0, acc1)) - hsum(mins);
}

TAILOR_AVX2 float dotQ6_KAvx(const uint8_t* w, const int8_t* q, const float* d, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3), off = _mm256_set1_epi8(32);
    // lane patterns: the input block k of a half covers sub-blocks 2k (lanes 0-3) and 2k+1 (lanes 4-7)
    const __m256i pairLo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), pairHi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    const auto* blocks = reinterpret_cast<const gguf::BlockQ6_K*>(w);
    for (int64_t i = 0; i < n / gguf::kSuperBlock; ++i) {
        const gguf::BlockQ6_K& blk = blocks[i];
        const __m256 dx = _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(blk.d)), _mm256_loadu_ps(d + i * 8));
        const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales));
        // the 16 sub-block factors d·sc·dx, eight per 128-value half
        const __m256 f[2] = {
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)), _mm256_permutevar8x32_ps(dx, pairLo)),
            _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8))), _mm256_permutevar8x32_ps(dx, pairHi)),
        };
        for (int half = 0; half < 2; ++half) {
            const uint8_t* ql = blk.ql + half * 64;
            const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
            const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
            const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh + half * 32));
            // 2-bit fields moved to bits 4-5 of each byte; the masks keep shifts inside bytes
            const __m256i g[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4)),
                _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)),
            };
            const int8_t* x = q + i * 256 + half * 128;
            for (int k = 0; k < 4; k += 2) {
                const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k * 32));
                const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k * 32 + 32));
                const __m256 s0 = _mm256_permutevar8x32_ps(f[half], _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1));
                const __m256 s1 = _mm256_permutevar8x32_ps(f[half], _mm256_setr_epi32(2 * k + 2, 2 * k + 2, 2 * k + 2, 2 * k + 2, 2 * k + 3, 2 * k + 3, 2 * k + 3, 2 * k + 3));
                acc0 = _mm256_fmadd_ps(s0, dotI8x32(_mm256_sub_epi8(g[k], off), x0), acc0);
                acc1 = _mm256_fmadd_ps(s1, dotI8x32(_mm256_sub_epi8(g[k + 1], off), x1), acc1);
            }
        }
    }
    return hsum(_mm256_add_ps(acc0, acc1));
}

// Bit j of 32 bits -> byte j = 0xFF or 0 (ggml's bytes_from_bits_32).
TAILOR_AVX2 inline __m256i bytesFromBits(const uint8_t* p)
{
    uint32_t x;
    std::memcpy(&x, p, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000);
    const __m256i bytes = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(int(x)), shuf), _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

template <bool Five, bool Min>
TAILOR_AVX2 float dotLegacyAvx(const LegacyLayout& L, const uint8_t* w, const int8_t* q, const float* d, const int32_t* sums, int64_t n)
{
    __m256 acc = _mm256_setzero_ps();
    float offset = 0;
    const __m256i m4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
    for (int64_t b = 0; b < n / gguf::kBlock; ++b, w += L.bytes) {
        uint16_t dh, mh = 0;
        std::memcpy(&dh, w, 2);
        if (Min)
            std::memcpy(&mh, w + 2, 2);
        const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + L.qs));
        __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), m4);
        if (Five)
            u = _mm256_or_si256(u, _mm256_and_si256(bytesFromBits(w + L.qh), bit4));
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32));
        const float f = _cvtsh_ss(dh) * d[b];
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f), dotU8x32(u, x), acc);
        offset += (Min ? _cvtsh_ss(mh) * d[b] : -16.f * f) * float(sums[b]);
    }
    return hsum(acc) + offset;
}

// Q4_0 with AVX-VNNI: the nibbles stay unsigned (0..15) and the -8 offset
// comes out of the input's block sums: Σ(u - 8)·x = Σu·x - 8·Σx, exact in integers.
TAILOR_VNNI float dotQ4_0Vnni(const uint8_t* w, const int8_t* q, const float* d, const int32_t* sums, int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    float offset = 0;
    const int64_t nb = n / gguf::kBlock;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2, w += 2 * gguf::kQ4_0Bytes) {
        uint16_t d0, d1;
        std::memcpy(&d0, w, 2);
        std::memcpy(&d1, w + gguf::kQ4_0Bytes, 2);
        const __m128i t0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2));
        const __m128i t1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + gguf::kQ4_0Bytes + 2));
        const __m256i u0 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t0, 4), t0), m4);
        const __m256i u1 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t1, 4), t1), m4);
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * 32 + 32));
        const float s0 = _cvtsh_ss(d0) * d[b], s1 = _cvtsh_ss(d1) * d[b + 1];
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(s0), _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u0, x0)), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(s1), _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u1, x1)), acc1);
        offset += s0 * float(sums[b]) + s1 * float(sums[b + 1]);
    }
    float s = hsum(_mm256_add_ps(acc0, acc1)) - 8 * offset;
    if (b < nb)
        s += dotQ4_0(w, q + b * 32, d + b, 32);
    return s;
}

} // namespace

// ---- what packed_matrix.cpp calls ------------------------------------------

bool hasAvx2() { return kHasAvx2; }
bool hasVnni() { return kHasVnni; }
bool& useAvx2() { return kAvx2; }

float f32(const float* w, const float* x, int64_t n) { return kAvx2 ? dotF32Avx(w, x, n) : dotF32(w, x, n); }
float f16(const uint16_t* w, const float* x, int64_t n) { return kAvx2 ? dotF16Avx(w, x, n) : dotF16(w, x, n); }
float bf16(const uint16_t* w, const float* x, int64_t n) { return kAvx2 ? dotBF16Avx(w, x, n) : dotBF16(w, x, n); }
float bf16Value(uint16_t v) { return bf16ToFloat(v); }

float int8Row(gguf::TensorType type, const uint8_t* w, const int8_t* q, const float* d, const int32_t* sums, int64_t n)
{
    using gguf::TensorType;
    switch (type) {
    case TensorType::Q8_0: return kAvx2 ? dotQ8_0Avx(w, q, d, n) : dotQ8_0(w, q, d, n);
    case TensorType::Q4_0: return kAvx2 ? (kHasVnni ? dotQ4_0Vnni(w, q, d, sums, n) : dotQ4_0Avx(w, q, d, n)) : dotQ4_0(w, q, d, n);
    case TensorType::Q4_1: return kAvx2 ? dotLegacyAvx<false, true>(kQ4_1, w, q, d, sums, n) : dotLegacy(kQ4_1, w, q, d, sums, n);
    case TensorType::Q5_0: return kAvx2 ? dotLegacyAvx<true, false>(kQ5_0, w, q, d, sums, n) : dotLegacy(kQ5_0, w, q, d, sums, n);
    case TensorType::Q5_1: return kAvx2 ? dotLegacyAvx<true, true>(kQ5_1, w, q, d, sums, n) : dotLegacy(kQ5_1, w, q, d, sums, n);
    case TensorType::Q4_K: return kAvx2 ? dotQ4_KAvx(w, q, d, sums, n) : dotQ4_K(w, q, d, sums, n);
    case TensorType::Q6_K: return kAvx2 ? dotQ6_KAvx(w, q, d, n) : dotQ6_K(w, q, d, n);
    default: // hasInt8Kernel() named a type this switch does not: a programming error, not bad input
        throw Error("row kernels: no int8 kernel for " + gguf::typeName(type));
    }
}

bool hasInt8Kernel(gguf::TensorType t)
{
    using gguf::TensorType;
    return t == TensorType::Q8_0 || t == TensorType::Q4_0 || t == TensorType::Q4_1 || t == TensorType::Q5_0 || t == TensorType::Q5_1 ||
           t == TensorType::Q4_K || t == TensorType::Q6_K;
}

} // namespace tailor::decode::kernels
