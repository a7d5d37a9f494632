#include "ggml_blocks.h"
#include "core/error.h"
#include "core/quant/linear_quantizer.h"

#include <cstring>

namespace tailor::gguf {

namespace {
QByteArray bytesOf(const at::Tensor& t)
{
    const at::Tensor c = t.contiguous();
    return QByteArray(static_cast<const char*>(c.data_ptr()), qsizetype(c.numel() * c.element_size()));
}
} // namespace

QByteArray encodeRows(const at::Tensor& w, TensorType type)
{
    switch (type) {
    case TensorType::F32: return bytesOf(w.to(at::kFloat));
    case TensorType::F16: return bytesOf(w.to(at::kHalf));
    case TensorType::BF16: return bytesOf(w.to(at::kBFloat16));
    case TensorType::Q8_0:
    case TensorType::Q4_0: break;
    }
    const bool q8 = type == TensorType::Q8_0;
    const at::Tensor w2 = w.to(at::kFloat).reshape({-1, w.size(-1)}).contiguous();
    if (w2.size(1) % kBlock != 0)
        throw Error(typeName(type) + " needs rows of a multiple of 32 elements");
    QuantGrid grid;
    const at::Tensor deq = fakeQuantize(w2, QuantScheme::parse(q8 ? "q8_0" : "q4_0"), &grid).reshape({-1, kBlock});
    const at::Tensor scale = grid.scale.reshape({-1, 1});
    // r̂ = q·d exactly (q ≤ 8 bits, d an fp16 value): the codes come back by division
    at::Tensor codes = at::where(scale == 0, at::zeros_like(deq), at::round(deq / at::where(scale == 0, at::ones_like(scale), scale)));
    codes = codes.to(at::kInt).contiguous();
    const at::Tensor d16 = grid.scale.to(at::kHalf).contiguous();
    const int64_t blocks = deq.size(0);
    QByteArray out(qsizetype(blocks * (q8 ? kQ8_0Bytes : kQ4_0Bytes)), '\0');
    auto* o = reinterpret_cast<uint8_t*>(out.data());
    const int32_t* q = codes.data_ptr<int32_t>();
    const auto* d = reinterpret_cast<const uint16_t*>(d16.data_ptr());
    for (int64_t b = 0; b < blocks; ++b) {
        uint8_t* blk = o + b * (q8 ? kQ8_0Bytes : kQ4_0Bytes);
        std::memcpy(blk, &d[b], 2);
        const int32_t* qb = q + b * kBlock;
        if (q8) {
            for (int64_t j = 0; j < kBlock; ++j)
                blk[2 + j] = uint8_t(int8_t(qb[j]));
        } else {
            for (int64_t j = 0; j < kBlock / 2; ++j) // stored as q + 8 in 0..15
                blk[2 + j] = uint8_t((qb[j] + 8) & 0x0f) | uint8_t(((qb[j + 16] + 8) & 0x0f) << 4);
        }
    }
    return out;
}

} // namespace tailor::gguf
