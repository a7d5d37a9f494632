#include "rtn_kernel.h"

#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace tailor {

bool rtnKernelSupports(const QuantScheme& s)
{
    return s.format == QuantFormat::Linear && s.clip == ClipMethod::MinMax && s.granularity != Granularity::Tensor;
}

namespace {
struct Partial {
    double sum = 0, sumSq = 0, errSq = 0, sigSq = 0, maxErr = 0, c2 = 0, c4 = 0;
    int64_t beyond3 = 0, beyond6 = 0, nonfinite = 0;
};

// Rows [r0, r1) split into a fixed number of chunks: the same sums in the same
// order on every run with the same thread count.
template <class F>
std::vector<Partial> overRows(int64_t rows, F&& f)
{
    const int64_t chunks = std::min<int64_t>(rows, 64);
    std::vector<Partial> parts(std::size_t(std::max<int64_t>(chunks, 1)));
    at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c)
            f(rows * c / chunks, rows * (c + 1) / chunks, parts[std::size_t(c)]);
    });
    return parts;
}

// T: the stored element type (float, BFloat16, Half), read and widened in place.
template <class T>
at::Tensor rtnTyped(const at::Tensor& x, const QuantScheme& s, WeightErrorStats& st)
{
    const int64_t rows = x.size(0), cols = x.size(1), n = rows * cols;
    const int64_t group = s.granularity == Granularity::Channel ? cols : s.group;
    at::Tensor out = at::empty({rows, cols}, at::kFloat);
    const T* in = x.data_ptr<T>();
    float* o = out.data_ptr<float>();

    // pass 1: mean and spread (for the centred moments and the outlier
    // thresholds), and NaN/Inf, which the caller reports instead of quantizing
    double sum = 0, sumSq = 0;
    int64_t nonfinite = 0;
    for (const auto& p : overRows(rows, [&](int64_t r0, int64_t r1, Partial& p) {
             for (int64_t i = r0 * cols; i < r1 * cols; ++i) {
                 const double v = double(float(in[i]));
                 if (!std::isfinite(v))
                     ++p.nonfinite;
                 p.sum += v;
                 p.sumSq += v * v;
             }
         }))
        sum += p.sum, sumSq += p.sumSq, nonfinite += p.nonfinite;
    st.nonfinite = nonfinite;
    if (nonfinite > 0)
        return at::Tensor();
    const double mean = sum / double(n), sd1 = std::sqrt(std::max(0.0, sumSq / double(n) - mean * mean));

    // pass 2: quantize group by group, with the error and moment sums
    const double qmaxSym = double((int64_t(1) << (s.bits - 1)) - 1), levels = double((int64_t(1) << s.bits) - 1);
    const auto parts = overRows(rows, [&](int64_t r0, int64_t r1, Partial& p) {
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t g0 = 0; g0 < cols; g0 += group) {
                const T* a = in + r * cols + g0;
                float* b = o + r * cols + g0;
                const int64_t len = std::min(group, cols - g0);
                if (s.symmetric) {
                    double amax = 0;
                    for (int64_t j = 0; j < len; ++j)
                        amax = std::max(amax, std::abs(double(float(a[j]))));
                    double scale = amax / qmaxSym;
                    if (scale == 0)
                        scale = 1; // a group of zeros keeps s = 1
                    for (int64_t j = 0; j < len; ++j) {
                        const double q = std::clamp(std::nearbyint(double(float(a[j])) / scale), -qmaxSym - 1, qmaxSym);
                        b[j] = float(q * scale);
                    }
                } else {
                    double lo = double(float(a[0])), hi = lo;
                    for (int64_t j = 1; j < len; ++j)
                        lo = std::min(lo, double(float(a[j]))), hi = std::max(hi, double(float(a[j])));
                    double scale = (hi - lo) / levels;
                    if (scale == 0)
                        scale = 1;
                    const double zero = std::nearbyint(-lo / scale);
                    for (int64_t j = 0; j < len; ++j) {
                        const double q = std::clamp(std::nearbyint(double(float(a[j])) / scale) + zero, 0.0, levels);
                        b[j] = float((q - zero) * scale);
                    }
                }
                for (int64_t j = 0; j < len; ++j) {
                    const double wd = double(float(a[j])), e = double(b[j]) - wd, c = wd - mean;
                    p.errSq += e * e;
                    p.sigSq += wd * wd;
                    p.maxErr = std::max(p.maxErr, std::abs(e));
                    p.c2 += c * c;
                    p.c4 += c * c * c * c;
                    p.beyond3 += std::abs(c) > 3 * sd1;
                    p.beyond6 += std::abs(c) > 6 * sd1;
                }
            }
    });
    Partial t;
    for (const auto& p : parts) {
        t.errSq += p.errSq, t.sigSq += p.sigSq, t.c2 += p.c2, t.c4 += p.c4;
        t.maxErr = std::max(t.maxErr, p.maxErr);
        t.beyond3 += p.beyond3, t.beyond6 += p.beyond6;
    }
    const double var = t.c2 / double(n);

    st.mse = t.errSq / double(n);
    st.max_abs_err = t.maxErr;
    st.sqnr_db = t.errSq > 0 ? 10.0 * std::log10(t.sigSq / t.errSq) : std::numeric_limits<double>::infinity();
    st.kurtosis = var > 0 ? (t.c4 / double(n)) / (var * var) : 0.0;
    st.outliers_3sigma = double(t.beyond3) / double(n);
    st.outliers_6sigma = double(t.beyond6) / double(n);
    return out;
}
} // namespace

at::Tensor rtnWithStats(const at::Tensor& w, const QuantScheme& s, WeightErrorStats& st)
{
    const at::Tensor x = w.contiguous();
    switch (x.scalar_type()) {
    case at::kBFloat16: return rtnTyped<at::BFloat16>(x, s, st);
    case at::kHalf: return rtnTyped<at::Half>(x, s, st);
    case at::kFloat: return rtnTyped<float>(x, s, st);
    default: return rtnTyped<float>(x.to(at::kFloat), s, st);
    }
}

} // namespace tailor
