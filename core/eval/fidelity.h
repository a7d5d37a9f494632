#pragma once
// How far a model drifts from a base model on the same windows, the way
// llama.cpp's perplexity tool scores quantizations (#16): for every predicted
// position, KL(P_base ‖ P_model) in nats over the full vocabulary and whether
// the two argmax tokens agree; mean, median, p99 (linear interpolation, as
// numpy), max, top-1 agreement, and both perplexities. One pass: each batch of
// windows runs through both models block by block, so two fp32 models are
// never in memory at once (weights are widened a block at a time).
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <cstdint>
#include <vector>

namespace tailor {

class Model;

struct FidelityOptions {
    std::vector<int> base_drop, model_drop; // blocks skipped in each
    int64_t batch_tokens = 2048;
    bool keep_positions = false; // fill FidelityResult::kld
    // The compared model's block-quantized layers on int8 GEMM
    // (EvalOptions::int8_products); the base stays on the exact fp32 path.
    bool int8_products = false;
};

struct FidelityResult {
    int64_t positions = 0;
    double kld_mean = 0, kld_median = 0, kld_p99 = 0, kld_max = 0;
    double top1_agreement = 0;
    double base_ppl = 0, ppl = 0;
    std::vector<float> kld; // per position (keep_positions)
};

// The two models must share the token space (same vocabulary size); the caller
// checks that their tokenizers agree.
FidelityResult compareToBase(const Model& base, const Model& model, const TokenWindows& windows, const FidelityOptions& opt,
                             const ProgressFn& progress = {});

} // namespace tailor
