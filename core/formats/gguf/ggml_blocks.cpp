#include "ggml_blocks.h"
#include "ggml_quants.h"
#include "core/util/error.h"

#include <ATen/Parallel.h>

namespace tailor::gguf {

QByteArray encodeRows(const at::Tensor& w, TensorType type, const std::vector<float>& imatrix)
{
    const at::Tensor w2 = w.to(at::kFloat).reshape({-1, w.size(-1)}).contiguous();
    const int64_t rows = w2.size(0), cols = w2.size(1);
    if (cols % blockSize(type) != 0)
        throw Error(typeName(type) + " needs rows of a multiple of " + std::to_string(blockSize(type)) + " elements, not " +
                    std::to_string(cols));
    if (!imatrix.empty() && int64_t(imatrix.size()) != cols)
        throw Error("importance weights for " + std::to_string(imatrix.size()) + " columns, the matrix has " + std::to_string(cols));
    const int64_t rowSize = rowBytes(type, cols);
    QByteArray out(qsizetype(rows * rowSize), '\0');
    const float* src = w2.data_ptr<float>();
    auto* dst = reinterpret_cast<uint8_t*>(out.data());
    const float* qw = imatrix.empty() ? nullptr : imatrix.data();
    // rows are independent: any split gives the same bytes
    at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / cols), [&](int64_t begin, int64_t end) {
        quantizeRows(type, src + begin * cols, dst + begin * rowSize, end - begin, cols, qw);
    });
    return out;
}

at::Tensor roundTrip(const at::Tensor& w, TensorType type, const std::vector<float>& imatrix)
{
    const QByteArray bytes = encodeRows(w, type, imatrix);
    const int64_t cols = w.size(-1), rows = w.numel() / cols, rowSize = rowBytes(type, cols);
    at::Tensor out = at::empty({rows, cols}, at::kFloat);
    float* dst = out.data_ptr<float>();
    const auto* src = reinterpret_cast<const uint8_t*>(bytes.constData());
    at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / cols), [&](int64_t begin, int64_t end) {
        dequantizeRows(type, src + begin * rowSize, dst + begin * cols, (end - begin) * cols);
    });
    return out;
}

} // namespace tailor::gguf
