#pragma once
// Expert pruning (#30): each block of a mixture keeps a chosen set of its
// experts (the same number in every block: llama.cpp's GGUF holds one expert
// count). The router loses the rows of the removed experts, so its softmax
// is renormalised over the kept ones; the kept experts are renumbered 0..N-1
// in their old order. The result is a derived model whose config has N
// experts; it exports to HF and GGUF like any other.
#include <cstdint>
#include <memory>
#include <vector>

namespace tailor {

class Model;

// keep[b]: the experts block b keeps (distinct, in range). Throws naming the
// block for an empty list, a count that differs between blocks, fewer experts
// than a token uses (num_experts_per_tok), or an index out of range.
std::shared_ptr<Model> pruneExperts(const Model& model, const std::vector<std::vector<int>>& keep);

// Parameters of the model after pruneExperts(model, keep) (without building it).
int64_t parametersAfterExperts(const Model& model, int64_t keep);

// Checks the lists against the model without building anything (plan validation).
void validateExpertKeep(const Model& model, const std::vector<std::vector<int>>& keep);

} // namespace tailor
