#include "decode_speed.h"
#include "decoder.h"
#include "huge_pages.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/model.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdio>
#include <chrono>

namespace tailor {

namespace {

using Clock = std::chrono::steady_clock;

__attribute__((target("avx2"))) double sumAvx2(const float* p, int64_t n)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    alignas(32) float t[8];
    _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    double s = 0;
    for (float f : t)
        s += f;
    return s;
}

double sumPortable(const float* p, int64_t n)
{
    float a[8] = {};
    for (int64_t i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j)
            a[j] += p[i + j];
    double s = 0;
    for (float f : a)
        s += f;
    return s;
}

} // namespace

std::string speedRange(const SpeedStats& s, int decimals)
{
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.*f (%.*f\u2013%.*f)", decimals, s.median, decimals, s.min, decimals, s.max);
    return buf;
}

std::string describeSpeed(const DecodeSpeed& s)
{
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "decode %.1f tokens/s (%.1f\u2013%.1f, %d runs), prefill %.0f tokens/s (%.0f\u2013%.0f); %d blocks, %.1f MB of weights + "
                  "%.2f MB of KV cache a token; roofline %.1f tokens/s at %.1f GB/s; %d threads",
                  s.decode.median, s.decode.min, s.decode.max, s.decode.runs, s.prefill.median, s.prefill.min, s.prefill.max,
                  s.kept_blocks, double(s.weight_bytes_per_token) / 1e6, double(s.kv_bytes_per_token) / 1e6, s.roofline_tokens_per_s,
                  s.read_bandwidth / 1e9, s.threads);
    return buf;
}

SpeedStats speedStats(std::vector<double> v)
{
    SpeedStats s;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    s.runs = int(v.size());
    s.min = v.front();
    s.max = v.back();
    const std::size_t n = v.size();
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return s;
}

double measureReadBandwidth(int64_t bytes)
{
    const int64_t n = bytes / 4;
    // the same kind of memory the decoder streams its weights from
    const std::shared_ptr<void> mem = decode::allocateHugePages(std::size_t(n) * 4);
    float* const data = static_cast<float*>(mem.get());
    at::parallel_for(0, n, int64_t(1) << 20, [&](int64_t b, int64_t e) { std::fill(data + b, data + e, 1.f); });
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2");
    double best = 0;
    volatile double sink = 0;
    for (int pass = 0; pass < 4; ++pass) {
        const auto t0 = Clock::now();
        std::vector<double> part(std::size_t(at::get_num_threads()) + 1, 0.0);
        at::parallel_for(0, n / 4096, 1, [&](int64_t b, int64_t e) {
            const float* p = data + b * 4096;
            part[std::size_t(at::get_thread_num())] += avx2 ? sumAvx2(p, (e - b) * 4096) : sumPortable(p, (e - b) * 4096);
        });
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        for (double x : part)
            sink = sink + x;
        if (pass > 0) // the first pass also faults the pages in
            best = std::max(best, double(n / 4096 * 4096) * 4 / s);
    }
    return best;
}

void requireSpeedRunFits(const ModelConfig& c, int64_t promptTokens, int64_t decodeTokens)
{
    if (promptTokens + decodeTokens > c.max_position_embeddings)
        throw Error("a prompt of " + std::to_string(promptTokens) + " and " + std::to_string(decodeTokens) +
                    " decoded tokens do not fit the model's context (" + std::to_string(c.max_position_embeddings) + ")");
}

std::vector<int32_t> speedPrompt(int64_t vocab, int64_t n, int64_t sequence)
{
    std::vector<int32_t> ids(std::size_t(std::max<int64_t>(0, n)));
    for (int64_t i = 0; i < n; ++i)
        ids[std::size_t(i)] = int32_t((i * 7919 + 13 + sequence * 104729) % vocab);
    return ids;
}

DecodeSpeed measureDecodeSpeed(const Model& original, const DecodeSpeedOptions& opt, const ProgressFn& progress)
{
    const std::shared_ptr<const Model> exported = opt.source_dtypes ? original.inSourceDtypes() : nullptr;
    const Model& model = exported ? *exported : original;
    if (opt.prompt_tokens < 1 || opt.decode_tokens < 1 || opt.repeats < 1)
        throw Error("speed runs need at least one prompt token, one decoded token and one repeat");
    DecodeSpeed r;
    r.threads = setComputeThreads(opt.threads);
    decode::DecoderOptions dopt;
    dopt.drop_blocks = opt.drop_blocks;
    dopt.max_positions = opt.prompt_tokens + opt.decode_tokens;
    requireSpeedRunFits(model.config(), opt.prompt_tokens, opt.decode_tokens);
    decode::Decoder d(model, dopt);
    r.weight_bytes_per_token = d.weightBytesPerToken();
    r.kv_bytes_per_token = d.kvBytesPerToken(opt.prompt_tokens + opt.decode_tokens / 2);
    r.kept_blocks = d.keptBlocks();
    const std::vector<int32_t> prompt = speedPrompt(model.config().vocab_size, opt.prompt_tokens);
    std::vector<double> pre, dec;
    const int total = opt.repeats + 1;
    for (int run = 0; run < total; ++run) {
        d.reset();
        auto t0 = Clock::now();
        const std::vector<float>* l = &d.prefill(prompt);
        const double tp = std::chrono::duration<double>(Clock::now() - t0).count();
        int32_t next = int32_t(std::max_element(l->begin(), l->end()) - l->begin());
        t0 = Clock::now();
        for (int64_t i = 0; i < opt.decode_tokens; ++i) {
            l = &d.step(next);
            next = int32_t(std::max_element(l->begin(), l->end()) - l->begin());
        }
        const double td = std::chrono::duration<double>(Clock::now() - t0).count();
        if (run > 0) { // run 0 warms the caches and faults in the mapped weights
            pre.push_back(double(opt.prompt_tokens) / std::max(tp, 1e-9));
            dec.push_back(double(opt.decode_tokens) / std::max(td, 1e-9));
        }
        reportProgress(progress, 0.9 * double(run + 1) / total, "speed run " + std::to_string(run + 1) + "/" + std::to_string(total));
    }
    r.prefill = speedStats(pre);
    r.decode = speedStats(dec);
    r.threads = at::get_num_threads(); // after adapting to what other programs leave free
    r.read_bandwidth = measureReadBandwidth();
    r.roofline_tokens_per_s = r.read_bandwidth / double(std::max<int64_t>(1, r.bytesPerToken()));
    reportProgress(progress, 1.0, "speed measured");
    return r;
}

} // namespace tailor
