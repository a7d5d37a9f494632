#pragma once
// The evaluation's batched forward (perplexity, KLD, task accuracy) with a
// model's block-quantized linear layers and head multiplied as they are
// stored: int8 GEMM on their panel form (packed_gemm.h), inputs rounded to
// Q8_0 blocks as llama.cpp rounds them. No fp32 copy of those weights is
// made. Layers without a panel form (F16/BF16/F32, low-rank factors, the
// i-quants) take runBlocks' fp32 path. The default evaluation stays on fp32
// (the oracle tests compare it with fake-quantized references); this one is
// chosen with EvalOptions/FidelityOptions::int8_products. Torch-facing.
#include "packed_gemm.h"
#include "packed_matrix.h"
#include "core/model/llama_forward.h"

#include <map>
#include <memory>

namespace tailor::decode {

// A block type's bytes as the decoder multiplies them (encoded once and kept
// in the packing, or the GGUF file's own blocks).
PackedMatrix encodedWeight(const Model::GgmlPacking& p);

// Products of panels with a torch input [..., K] -> [..., rows]. The input is
// rounded to Q8_0 once for every product that reads it (q, k and v; gate and
// up): the last input is kept alive, so tensor identity is a safe key.
class PanelProducts {
public:
    at::Tensor multiply(const PanelMatrix& p, const at::Tensor& x);

private:
    QuantizedRows rounded_;
    at::Tensor roundedFrom_;
};

class PackedForward {
public:
    explicit PackedForward(const Model& model);
    ~PackedForward();
    PackedForward(const PackedForward&) = delete;
    PackedForward& operator=(const PackedForward&) = delete;

    // The int8 forward of a model when asked for and some layer or the head
    // has a panel form; null otherwise (the caller keeps the fp32 path).
    static std::unique_ptr<PackedForward> ifPacked(const Model& model, bool asked);

    // Whether any linear layer or the head has a panel form.
    bool packed() const { return packedLinears_ > 0 || packedHead_; }
    int packedLinears() const { return packedLinears_; }

    // runBlocks(model, h, 0, n, rope, skip) with the packed products.
    at::Tensor runBlocks(at::Tensor h, const RopeTable& rope, const std::vector<bool>& skip);
    // One block (blockForward with the packed products; a cache for generation).
    at::Tensor block(int b, const at::Tensor& h, const RopeTable& rope, KvCache* cache = nullptr);
    // The lm_head's product for x [N, hidden] (after the final norm).
    const LinearProduct& head() const { return headProduct_; }

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
    int packedLinears_ = 0;
    bool packedHead_ = false;
    LinearProduct headProduct_;
};

} // namespace tailor::decode
