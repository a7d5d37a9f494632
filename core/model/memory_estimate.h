#pragma once
// How much memory a job on a checkpoint will need, estimated before it starts,
// so a model too large for the machine is refused with the numbers instead of
// swapping or being killed halfway. The estimate counts the mapped weights
// (every page is touched by a full pass), one block widened to fp32 (or the
// whole model when it is small enough to be cached), lm_head widened per use,
// activations of one forward batch, libtorch's own footprint, and per job:
// stored block inputs and one block's gradients (Taylor).
#include <cstdint>
#include <string>

namespace tailor {

struct ModelConfig;

enum class MemoryJob { Evaluate, BlockScan, Taylor, Quantize };

struct MemoryEstimate {
    double mapped = 0, widened = 0, activations = 0, job = 0, runtime = 0;
    double total() const { return mapped + widened + activations + job + runtime; }
    std::string describe() const; // "≈ 14.2 GB (mapped weights 13.5 GB + ...)"
};

MemoryEstimate estimateMemory(const ModelConfig& c, uint64_t fileBytes, MemoryJob job, int64_t tokens);

// Physical memory of this machine, or $TAILOR_MEMORY_LIMIT (bytes, or with a
// K/M/G suffix) when set: the limit the check compares with.
double machineMemoryBytes();

// Throws Error("<what>: needs ≈ X GB ..., this machine has Y GB") when the estimate does not fit.
void requireMemory(const std::string& what, const MemoryEstimate& e);

} // namespace tailor
