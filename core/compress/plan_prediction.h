#pragma once
// What a compression plan will leave, from the tensor shapes alone, before it
// runs: parameters, bytes and the decode speed-up of the dropped blocks. One
// function, used by the Compress view's "Predicted" line and checked against
// what applyPlan measures (tests/core/test_export.cpp). Torch-free API.
#include "core/compress/compression_plan.h"

#include <cstdint>

namespace tailor {

class ModelSession;

struct PlanPrediction {
    int64_t parameters_before = 0, parameters_after = 0; // every tensor, embeddings included
    // Linear layers of the blocks at their scheme's bits per weight (scales
    // included) when the plan quantizes, everything else at 16 bits.
    double bytes = 0;
    double decode_speedup = 1; // per-token FLOPs of the blocks kept (dropSavings)
    bool quantized = false;
};

// Throws Error when the plan does not fit the model (validate()'s messages).
PlanPrediction predictPlan(const ModelSession& session, const CompressionPlan& plan);

} // namespace tailor
