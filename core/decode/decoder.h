#pragma once
// Batch-1 decoding of a (compressed) model as it is stored: every weight read
// once per token in its own format (F32/F16/BF16 rows, llama.cpp blocks,
// low-rank layers as their two factors), a KV cache, threads over output rows.
// Dropped blocks cost nothing. The prompt runs through the batched forward
// the evaluation uses (blockForward) with the block types' products on int8
// GEMM tiles (packed_gemm.h) and the others on fp32; its keys and values then
// seed the cache. Torch-free header.
#include <cstdint>
#include <memory>
#include <vector>

namespace tailor {

class Model;

namespace decode {

struct DecoderOptions {
    std::vector<int> drop_blocks;
    int64_t max_positions = 2048; // KV cache length (capped by the model's context)
    // Block-quantized weights against fp32 inputs, decoded row by row (the
    // reference) instead of llama.cpp's int8 products against Q8_0 inputs.
    bool exact_activations = false;
    // The prompt's products on int8 against the weights' panel form
    // (packed_gemm.h: inputs rounded to Q8_0, as the steps after it) where
    // the type has one; false widens each layer to fp32 for sgemm. Off with
    // exact_activations, which keeps the whole decoder on fp32 inputs.
    bool int8_prompt = true;
    // Copy weights that live in the checkpoint's file mapping into private
    // memory (faster to stream); Auto does when they take less than half of
    // the available memory.
    enum class Copy { Auto, Never, Always } copy_weights = Copy::Auto;
};

class Decoder {
public:
    Decoder(const Model& model, const DecoderOptions& opt);
    ~Decoder();
    Decoder(const Decoder&) = delete;
    Decoder& operator=(const Decoder&) = delete;

    // Forgets the cache; the next call starts at position 0.
    void reset();
    // Runs ids at the next positions (a batch) and returns the logits of the last one.
    const std::vector<float>& prefill(const std::vector<int32_t>& ids);
    // Runs one token at the next position and returns its logits.
    const std::vector<float>& step(int32_t id);

    int64_t position() const;
    int64_t maxPositions() const;
    // Bytes of weights a decoded token reads (blocks, head, one embedding row).
    int64_t weightBytesPerToken() const;
    // Bytes of keys and values a token at position pos reads from the cache
    // (fp32, every kept block): grows with the context, and shrinks with
    // dropped blocks and with removed KV groups alike.
    int64_t kvBytesPerToken(int64_t pos) const;
    int keptBlocks() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

} // namespace decode
} // namespace tailor
