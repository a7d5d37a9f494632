#include "packed_gemm.h"
#include "core/util/error.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

// GCC 12's _mm512_set1_epi32 starts from _mm512_undefined_epi32 (`__Y = __Y`),
// which -Wmaybe-uninitialized reports at every use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <array>
#include <utility>
#include <cstring>

// The tile: 16 rows (one panel group) × NT tokens. For each sub-block j of a
// row (sub values with one s, m) and token t, with x = dx·q the token's Q8_0
// block:
//     y[t][r] += (s[r][j]·dx[t]) · Σ u[r][k]·q[t][k]  +  m[r][j] · (dx[t]·Σ q[t][k])
// The integer sums are exact; only the order of the float sums differs between
// kernels. Weights are loaded once per tile and serve NT tokens; the panel of
// a group (16 rows × cols) is read from memory once and then from cache for
// every token tile.

namespace tailor::decode {

namespace {

#define TAILOR_GEMM_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TAILOR_GEMM_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

bool detect(GemmKernel k)
{
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    if (k == GemmKernel::Avx2)
        return avx2;
    if (k == GemmKernel::Avx512Vnni)
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    return true;
}

const GemmKernel kBest = detect(GemmKernel::Avx512Vnni) ? GemmKernel::Avx512Vnni
                         : detect(GemmKernel::Avx2)     ? GemmKernel::Avx2
                                                        : GemmKernel::Portable;
GemmKernel kUse = kBest;

inline int32_t load4(const int8_t* p)
{
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// ---- portable: the scalar definition ---------------------------------------

void tilePortable(const PanelMatrix& w, int64_t g, const QuantizedRows& x, int64_t t0, int nt, float* y, int64_t ldy, int rows)
{
    const int sub = w.sub;
    const int64_t nsub = w.cols / sub;
    const uint8_t* vals = w.groupValues(g);
    const float* S = w.groupScales(g);
    const float* M = w.groupMins(g);
    for (int t = 0; t < nt; ++t) {
        const int8_t* q = x.q(t0 + t);
        const float* dx = x.d(t0 + t);
        const float* ds = x.dsums(t0 + t, sub);
        for (int r = 0; r < rows; ++r) {
            float f = 0;
            for (int64_t j = 0; j < nsub; ++j) {
                int32_t acc = 0;
                for (int64_t k = j * sub; k < (j + 1) * sub; ++k) {
                    int u;
                    if (w.nibbles) {
                        const uint8_t b = vals[(k / 8) * 64 + r * 4 + (k % 4)];
                        u = k % 8 >= 4 ? b >> 4 : b & 0x0F;
                    } else
                        u = vals[(k / 4) * 64 + r * 4 + (k % 4)];
                    acc += u * q[k];
                }
                f += float(acc) * (S[j * kPanelRows + r] * dx[j * sub / 32]) + M[j * kPanelRows + r] * ds[j];
            }
            y[(t0 + t) * ldy + g * kPanelRows + r] = f;
        }
    }
}

// ---- AVX512-VNNI: 16 rows in one register ----------------------------------

template <bool Nib, int Sub, int NT>
TAILOR_GEMM_AVX512 void tile512(const PanelMatrix& w, int64_t g, const QuantizedRows& x, int64_t t0, float* y, int64_t ldy, int rows)
{
    const int64_t nsub = w.cols / Sub;
    const uint8_t* vals = w.groupValues(g);
    const float* S = w.groupScales(g);
    const float* M = w.groupMins(g);
    const int8_t* q[NT];
    const float* dx[NT];
    const float* ds[NT];
    for (int t = 0; t < NT; ++t) {
        q[t] = x.q(t0 + t);
        dx[t] = x.d(t0 + t);
        ds[t] = x.dsums(t0 + t, Sub);
    }
    __m512 f[NT];
    for (int t = 0; t < NT; ++t)
        f[t] = _mm512_setzero_ps();
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int64_t j = 0; j < nsub; ++j) {
        const int64_t k0 = j * Sub;
        __m512i acc[NT];
        for (int t = 0; t < NT; ++t)
            acc[t] = _mm512_setzero_si512();
        if constexpr (Nib) {
            for (int c = 0; c < Sub / 8; ++c) {
                const __m512i raw = _mm512_load_si512(vals + (k0 / 8 + c) * 64);
                const __m512i lo = _mm512_and_si512(raw, low4), hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
                for (int t = 0; t < NT; ++t) {
                    acc[t] = _mm512_dpbusd_epi32(acc[t], lo, _mm512_set1_epi32(load4(q[t] + k0 + 8 * c)));
                    acc[t] = _mm512_dpbusd_epi32(acc[t], hi, _mm512_set1_epi32(load4(q[t] + k0 + 8 * c + 4)));
                }
            }
        } else {
            for (int c = 0; c < Sub / 4; ++c) {
                const __m512i u = _mm512_load_si512(vals + (k0 / 4 + c) * 64);
                for (int t = 0; t < NT; ++t)
                    acc[t] = _mm512_dpbusd_epi32(acc[t], u, _mm512_set1_epi32(load4(q[t] + k0 + 4 * c)));
            }
        }
        const __m512 s = _mm512_load_ps(S + j * kPanelRows), m = _mm512_load_ps(M + j * kPanelRows);
        for (int t = 0; t < NT; ++t) {
            f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(s, _mm512_set1_ps(dx[t][k0 / 32])), f[t]);
            f[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(ds[t][j]), f[t]);
        }
    }
    const __mmask16 keep = __mmask16((1u << rows) - 1);
    for (int t = 0; t < NT; ++t)
        _mm512_mask_storeu_ps(y + (t0 + t) * ldy + g * kPanelRows, keep, f[t]);
}

// ---- AVX2: 8 rows a register, the group in two halves ----------------------

template <bool Nib, int Sub, bool Wide, int NT>
TAILOR_GEMM_AVX2 void tile256(const PanelMatrix& w, int64_t g, const QuantizedRows& x, int64_t t0, float* y, int64_t ldy, int rows)
{
    const int64_t nsub = w.cols / Sub;
    const uint8_t* vals = w.groupValues(g);
    const float* S = w.groupScales(g);
    const float* M = w.groupMins(g);
    const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8(char(0x80));
    for (int h = 0; h < 2; ++h) {
        __m256 f[NT];
        for (int t = 0; t < NT; ++t)
            f[t] = _mm256_setzero_ps();
        for (int64_t j = 0; j < nsub; ++j) {
            const int64_t k0 = j * Sub;
            __m256i acc[NT];
            for (int t = 0; t < NT; ++t)
                acc[t] = _mm256_setzero_si256();
            if constexpr (Nib) {
                for (int c = 0; c < Sub / 8; ++c) {
                    const __m256i raw = _mm256_load_si256(reinterpret_cast<const __m256i*>(vals + (k0 / 8 + c) * 64 + h * 32));
                    const __m256i lo = _mm256_and_si256(raw, low4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
                    for (int t = 0; t < NT; ++t) {
                        const int8_t* q = x.q(t0 + t) + k0 + 8 * c;
                        // codes ≤ 15: the int16 pair sums of maddubs cannot saturate
                        acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(load4(q))), ones));
                        acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(hi, _mm256_set1_epi32(load4(q + 4))), ones));
                    }
                }
            } else {
                for (int c = 0; c < Sub / 4; ++c) {
                    const __m256i u = _mm256_load_si256(reinterpret_cast<const __m256i*>(vals + (k0 / 4 + c) * 64 + h * 32));
                    // codes up to 255 (Q8_0's q + 128) would saturate maddubs: multiply |q|
                    // by the input carrying q's sign, then add back 128·Σx below
                    const __m256i sw = Wide ? _mm256_xor_si256(u, flip) : u, aw = Wide ? _mm256_abs_epi8(sw) : u;
                    for (int t = 0; t < NT; ++t) {
                        const __m256i xb = _mm256_set1_epi32(load4(x.q(t0 + t) + k0 + 4 * c));
                        const __m256i p = _mm256_maddubs_epi16(aw, Wide ? _mm256_sign_epi8(xb, sw) : xb);
                        acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p, ones));
                    }
                }
            }
            const __m256 s = _mm256_load_ps(S + j * kPanelRows + h * 8), m = _mm256_load_ps(M + j * kPanelRows + h * 8);
            for (int t = 0; t < NT; ++t) {
                if constexpr (Wide)
                    acc[t] = _mm256_add_epi32(acc[t], _mm256_set1_epi32(128 * x.sums(t0 + t, Sub)[j]));
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), _mm256_mul_ps(s, _mm256_set1_ps(x.d(t0 + t)[k0 / 32])), f[t]);
                f[t] = _mm256_fmadd_ps(m, _mm256_set1_ps(x.dsums(t0 + t, Sub)[j]), f[t]);
            }
        }
        for (int t = 0; t < NT; ++t) {
            float out[8];
            _mm256_storeu_ps(out, f[t]);
            const int n = std::clamp(rows - h * 8, 0, 8);
            std::memcpy(y + (t0 + t) * ldy + g * kPanelRows + h * 8, out, std::size_t(n) * 4);
        }
    }
}

// ---- dispatch ---------------------------------------------------------------

using Tile = void (*)(const PanelMatrix&, int64_t, const QuantizedRows&, int64_t, float*, int64_t, int);

template <bool Nib, int Sub, int... NT>
constexpr auto tiles512(std::integer_sequence<int, NT...>) { return std::array<Tile, sizeof...(NT)>{&tile512<Nib, Sub, NT + 1>...}; }
template <bool Nib, int Sub, bool Wide, int... NT>
constexpr auto tiles256(std::integer_sequence<int, NT...>) { return std::array<Tile, sizeof...(NT)>{&tile256<Nib, Sub, Wide, NT + 1>...}; }

constexpr int kTokens512 = 8, kTokens256 = 4; // tokens a tile: what the registers hold

// The tile functions for a panel's form, indexed by token count − 1.
const Tile* tilesFor(const PanelMatrix& w, GemmKernel k)
{
    static const auto n4 = tiles512<true, 32>(std::make_integer_sequence<int, kTokens512>());
    static const auto b32 = tiles512<false, 32>(std::make_integer_sequence<int, kTokens512>());
    static const auto b16 = tiles512<false, 16>(std::make_integer_sequence<int, kTokens512>());
    static const auto n4a = tiles256<true, 32, false>(std::make_integer_sequence<int, kTokens256>());
    static const auto b32a = tiles256<false, 32, false>(std::make_integer_sequence<int, kTokens256>());
    static const auto b32w = tiles256<false, 32, true>(std::make_integer_sequence<int, kTokens256>());
    static const auto b16a = tiles256<false, 16, false>(std::make_integer_sequence<int, kTokens256>());
    if (w.nibbles && w.sub != 32)
        throw Error("GEMM: 4-bit panels come in sub-blocks of 32");
    if (k == GemmKernel::Avx512Vnni)
        return w.nibbles ? n4.data() : w.sub == 16 ? b16.data() : b32.data();
    if (w.wide_codes && w.sub != 32)
        throw Error("GEMM: wide codes come in sub-blocks of 32");
    return w.nibbles ? n4a.data() : w.wide_codes ? b32w.data() : w.sub == 16 ? b16a.data() : b32a.data();
}

} // namespace

void QuantizedRows::set(const float* x, int64_t tokens, int64_t cols, int64_t ldx)
{
    if (cols % 32 != 0)
        throw Error("GEMM inputs need a multiple of 32 values, got " + std::to_string(cols));
    tokens_ = tokens;
    cols_ = cols;
    q_.resize(std::size_t(tokens * cols));
    d_.resize(std::size_t(tokens * cols / 32));
    sum32_.resize(d_.size());
    dsum32_.resize(d_.size());
    sum16_.resize(2 * d_.size());
    dsum16_.resize(2 * d_.size());
    at::parallel_for(0, tokens, 8, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t)
            for (int64_t i = 0; i < cols / 32; ++i) {
                const std::size_t n = std::size_t(t * (cols / 32) + i);
                int8_t* q = q_.data() + t * cols + i * 32;
                const float d = roundQ8Block(x + t * ldx + i * 32, q, &sum32_[n]);
                d_[n] = d;
                dsum32_[n] = d * float(sum32_[n]);
                int32_t lo = 0;
                for (int j = 0; j < 16; ++j)
                    lo += q[j];
                sum16_[2 * n] = lo;
                sum16_[2 * n + 1] = sum32_[n] - lo;
                dsum16_[2 * n] = d * float(lo);
                dsum16_[2 * n + 1] = d * float(sum32_[n] - lo);
            }
    });
}

void gemm(const PanelMatrix& w, const QuantizedRows& x, float* y, int64_t ldy)
{
    if (w.cols != x.cols())
        throw Error("GEMM: a matrix of " + std::to_string(w.cols) + " columns applied to inputs of " + std::to_string(x.cols()));
    const GemmKernel k = kUse;
    const Tile* tiles = k == GemmKernel::Portable ? nullptr : tilesFor(w, k);
    const int maxTokens = k == GemmKernel::Avx512Vnni ? kTokens512 : kTokens256;
    const int64_t T = x.tokens();
    // One group (16 rows) at a time per thread: its panel stays in cache while
    // every token tile passes over it.
    at::parallel_for(0, w.groups(), 1, [&](int64_t g0, int64_t g1) {
        for (int64_t g = g0; g < g1; ++g) {
            const int rows = int(std::min<int64_t>(kPanelRows, w.rows - g * kPanelRows));
            for (int64_t t0 = 0; t0 < T; t0 += maxTokens) {
                const int nt = int(std::min<int64_t>(maxTokens, T - t0));
                if (tiles)
                    tiles[nt - 1](w, g, x, t0, y, ldy, rows);
                else
                    tilePortable(w, g, x, t0, nt, y, ldy, rows);
            }
        }
    });
}

GemmKernel bestGemmKernel() { return kBest; }

GemmKernel useGemmKernel(GemmKernel k)
{
    const GemmKernel before = kUse;
    kUse = detect(k) ? k : kBest;
    return before;
}

const char* gemmKernelName(GemmKernel k)
{
    switch (k) {
    case GemmKernel::Avx512Vnni: return "AVX512-VNNI";
    case GemmKernel::Avx2: return "AVX2";
    case GemmKernel::Portable: break;
    }
    return "portable";
}

} // namespace tailor::decode
