#pragma once
// The scale searches behind llama.cpp's quantizers (ggml-quants.c's
// make_qx_quants, make_q3_quants, make_qkx2_quants, make_qkx3_quants,
// make_qp_quants). Float expressions keep llama.cpp's order of operations:
// changing `w*x*l` to `w*(x*l)` changes the rounding and therefore the file.
#include <cstdint>
#include <cstring>

namespace tailor::gguf::search {

constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, for |x| < 2^22 (the float trick ggml uses):
// adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits.
// Inline: it runs for every element of every candidate scale.
inline int nearestInt(float fval)
{
    float val = fval + 12582912.f;
    int i;
    std::memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

// The value of largest magnitude, with its sign (the first one on ties); 0
// for an all-zero block. The symmetric formats scale by it.
inline float signedAbsMax(const float* x, int n)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = x[i] < 0 ? -x[i] : x[i];
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    return max;
}

// Σ x_j², summed in order in float (the sigma2 of the importance weights).
float sumSquares(const float* x, int n);

// llama.cpp's weights with an importance matrix: qw_j * sqrt(sigma2 + x_j^2).
void importanceWeights(const float* x, const float* qw, float sigma2, int n, float* out);

// Symmetric: L in [0, 2*nmax), returns the scale. rmseType 0 plain, 1 weights
// x^2 (or qw when given) with a scan of 18 nearby scales.
float makeQxQuants(int n, int nmax, const float* x, int8_t* L, int rmseType, const float* qw);
float makeQ3Quants(int n, int nmax, const float* x, int8_t* L, bool doRmse);
// Asymmetric with a min: L in [0, nmax], *theMin = -min; returns the scale.
float makeQkx2Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* theMin, uint8_t* Laux,
                     float rmin, float rdelta, int nstep, bool useMad);
float makeQkx3Quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* theMin, uint8_t* Laux,
                     float rmin, float rdelta, int nstep, bool useMad);
// Non-negative values (sub-block scales) to [0, nmax] with weights.
float makeQpQuants(int n, int nmax, const float* x, uint8_t* L, const float* quantWeights);

} // namespace tailor::gguf::search
