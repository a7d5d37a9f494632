#pragma once
// Prefill and batch-1 decode speed of a (compressed) model on the decoder,
// measured the way a benchmark should be: a warm-up run, then medians over
// repeated runs with their spread, beside the roofline of this machine (the
// weight bytes a token reads ÷ the measured memory read bandwidth), so a user
// sees how close a figure is to the limit. Torch-free API.
#include "core/util/progress.h"

#include <cstdint>
#include <vector>

namespace tailor {

class Model;

struct SpeedStats {
    double median = 0, min = 0, max = 0; // tokens/s over the counted runs
    int runs = 0;
};

// Median, min and max of per-run tokens/s.
SpeedStats speedStats(std::vector<double> perRun);

struct ModelConfig;

// Errors when a prompt and the decoded tokens do not fit the model's context.
void requireSpeedRunFits(const ModelConfig& c, int64_t promptTokens, int64_t decodeTokens);

// A prompt of n token ids spread over the vocabulary (speed does not depend on
// the text); `sequence` gives each sequence of a batch its own.
std::vector<int32_t> speedPrompt(int64_t vocab, int64_t n, int64_t sequence = 0);

struct DecodeSpeedOptions {
    std::vector<int> drop_blocks;
    int64_t prompt_tokens = 64;
    int64_t decode_tokens = 32;
    int repeats = 3;   // counted runs, after one warm-up
    int threads = 0;   // 0: adaptive (compute_threads.h)
    // Measure replaced tensors in their checkpoint dtype (Model::inSourceDtypes):
    // a healed model holds fp32 merges, but an HF export stores the source
    // dtype, and that is the model whose speed the user will get.
    bool source_dtypes = false;
};

struct DecodeSpeed {
    SpeedStats prefill, decode;
    int64_t weight_bytes_per_token = 0;
    // Cache bytes a decoded token reads, at the mean position of the decoded
    // tokens (prompt + half of them): small for short contexts, but it is what
    // dropped blocks and removed KV groups save beyond their weights.
    int64_t kv_bytes_per_token = 0;
    int64_t bytesPerToken() const { return weight_bytes_per_token + kv_bytes_per_token; }
    double read_bandwidth = 0;       // bytes/s, measured in the same call
    double roofline_tokens_per_s = 0; // read_bandwidth / bytesPerToken()
    int kept_blocks = 0;
    int threads = 0; // in force at the end (the adaptive count follows other programs' load)
};

DecodeSpeed measureDecodeSpeed(const Model& model, const DecodeSpeedOptions& opt, const ProgressFn& progress = {});

// How speeds read everywhere (CLI lines, the GUI's labels and tables), so the
// same run never looks different in two places:
// "41.2 (40.1–42.0)", the median and the spread of the counted runs.
std::string speedRange(const SpeedStats& s, int decimals);
// "decode 41.2 tokens/s (40.1–42.0, 3 runs), prefill 900 tokens/s (880–910);
//  12 blocks, 4.4 MB of weights + 0.05 MB of KV cache a token; roofline
//  2000.0 tokens/s at 10.0 GB/s; 2 threads"
std::string describeSpeed(const DecodeSpeed& s);

// Bytes/s at which the compute threads read a buffer much larger than the
// caches (best of a few passes).
double measureReadBandwidth(int64_t bytes = int64_t(512) << 20);

} // namespace tailor
