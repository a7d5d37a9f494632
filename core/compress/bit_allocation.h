#pragma once
// Choosing one option (a quantization type) per tensor under a size budget so
// that the predicted damage is smallest: a multiple-choice knapsack. Damage is
// taken as additive over tensors (KL divergence of small independent
// perturbations adds up to first order; budget_search.h measures the sum
// afterwards). Solved by dynamic programming over the budget in 8192 steps
// (each option's bytes rounded up, so the result fits), then the bytes the
// rounding left are spent by the best single upgrades and pair exchanges.
// Torch-free.
#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

struct AllocationOption {
    std::string scheme;
    double bytes = 0;  // what the tensor costs with this option
    double damage = 0; // predicted (or measured) damage when only this tensor changes
};

struct AllocationTensor {
    std::string name;
    std::vector<AllocationOption> options; // at least one
};

struct Allocation {
    std::vector<int> choice; // per tensor, an index into its options
    double bytes = 0;        // sum over tensors (without fixed costs)
    double damage = 0;       // predicted: sum over tensors
};

// The smallest and the largest useful total (every tensor at its smallest
// option; every tensor at its least damaging one).
double minimumBytes(const std::vector<AllocationTensor>& tensors);
double maximumUsefulBytes(const std::vector<AllocationTensor>& tensors);

// Least predicted damage with bytes <= budget. Throws when even the smallest
// options do not fit (naming the achievable range).
Allocation allocate(const std::vector<AllocationTensor>& tensors, double budgetBytes);

// Allocations at `points` budgets spread evenly from the smallest to the
// largest useful total (the predicted Pareto curve).
std::vector<Allocation> allocationFrontier(const std::vector<AllocationTensor>& tensors, int points);

} // namespace tailor
