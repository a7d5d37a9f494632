// Tailor's block quantizers against llama.cpp's own (ggml_quantize_chunk and
// the types' to_float in the prebuilt libggml-base of node-llama-cpp 3.21.1):
// every type, with and without importance weights, on data chosen to take each
// branch of the scale searches (zero blocks, constant blocks, all-positive and
// all-negative blocks, outliers, fp16 subnormal scales, real weights). Bytes
// must be equal, and so must the dequantized floats.
#include "core/util/error.h"
#include "core/formats/gguf/ggml_quants.h"
#include "core/formats/gguf/gguf_types.h"
#include "core/formats/safetensors_reader.h"
#include "test_data.h"

#include <ggml.h>

#include <QTest>
#include <algorithm>
#include <cstring>
#include <random>

using namespace tailor;
using namespace tailor::gguf;

namespace {

std::vector<float> testRows(int64_t rows, int64_t cols, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 0.02f);
    std::vector<float> x(std::size_t(rows * cols));
    for (float& v : x)
        v = normal(rng);
    auto block = [&](int64_t r, int64_t b, int64_t len) { return x.data() + r * cols + b * len; };
    // row 0: a zero super-block and a constant one; row 1: all positive, all negative
    std::fill(block(0, 0, 256), block(0, 0, 256) + 256, 0.f);
    std::fill(block(0, 1, 256), block(0, 1, 256) + 256, 0.5f);
    for (int i = 0; i < 256; ++i) {
        block(1, 0, 256)[i] = std::abs(block(1, 0, 256)[i]) + 0.01f;
        block(1, 1, 256)[i] = -std::abs(block(1, 1, 256)[i]);
    }
    // row 2: outliers; row 3: values so small the fp16 scales are subnormal; row 4: ties
    for (int i = 0; i < cols; i += 37)
        x[std::size_t(2 * cols + i)] *= 40.f;
    for (int i = 0; i < cols; ++i)
        x[std::size_t(3 * cols + i)] *= 1e-4f;
    for (int i = 0; i < cols; ++i)
        x[std::size_t(4 * cols + i)] = float((i % 17) - 8) * 0.125f;
    // row 5: exact halves under a scale of exactly 1 (Q8_0: amax 127), where
    // round-half-even and llama.cpp's roundf disagree
    for (int i = 0; i < cols; ++i)
        x[std::size_t(5 * cols + i)] = i % 32 == 0 ? 127.f : float(i % 32 - 16) + 0.5f;
    return x;
}

std::vector<float> importance(int64_t cols, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::gamma_distribution<float> g(0.7f, 1.0f); // positive, skewed, like mean squared activations
    std::vector<float> w(static_cast<std::size_t>(cols));
    for (float& v : w)
        v = g(rng);
    w[3] = 0.f; // a dead input channel
    return w;
}

int firstDifference(const uint8_t* a, const uint8_t* b, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i)
        if (a[i] != b[i])
            return int(i);
    return -1;
}

} // namespace

class TestGgmlKernels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void bytesEqualLlamaCpp_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<bool>("withImatrix");
        for (const TypeInfo& t : ggmlTypes())
            for (bool im : {false, true})
                QTest::newRow((std::string(t.name) + (im ? " imatrix" : "")).c_str()) << int(t.type) << im;
        // (without one, IQ2_XXS and IQ2_XS are refused: needWeightsRefused)
    }

    void bytesEqualLlamaCpp()
    {
        QFETCH(int, type);
        QFETCH(bool, withImatrix);
        const auto t = TensorType(type);
        const int64_t rows = 24, cols = 1024;
        const std::vector<float> x = testRows(rows, cols, 7);
        const std::vector<float> qw = importance(cols, 11);
        const float* im = withImatrix ? qw.data() : nullptr;
        const std::size_t bytes = std::size_t(rowBytes(t, cols) * rows);
        if (!im && ggml_quantize_requires_imatrix(ggml_type(type))) {
            // ggml asserts; Tailor says why
            std::vector<uint8_t> out(bytes);
            const std::string e = testdata::errorOf([&] { quantizeRows(t, x.data(), out.data(), rows, cols, nullptr); });
            QCOMPARE(QString::fromStdString(e), QString("%1 needs importance weights (an imatrix): llama.cpp does not quantize it without them")
                                                    .arg(typeName(t).c_str()));
            return;
        }

        std::vector<uint8_t> ours(bytes), theirs(bytes);
        QCOMPARE(quantizeRows(t, x.data(), ours.data(), rows, cols, im), bytes);
        QCOMPARE(ggml_quantize_chunk(ggml_type(type), x.data(), theirs.data(), 0, rows, cols, im), bytes);
        const int diff = firstDifference(ours.data(), theirs.data(), bytes);
        if (diff >= 0)
            QFAIL(qPrintable(QString("%1: first different byte %2 (row %3): ours %4, llama.cpp %5")
                                 .arg(typeName(t).c_str()).arg(diff).arg(diff / rowBytes(t, cols)).arg(ours[diff]).arg(theirs[diff])));

        std::vector<float> a(std::size_t(rows * cols)), b(a.size());
        dequantizeRows(t, ours.data(), a.data(), rows * cols);
        if (t == TensorType::F32)
            std::memcpy(b.data(), theirs.data(), bytes);
        else
            ggml_get_type_traits(ggml_type(type))->to_float(theirs.data(), b.data(), rows * cols);
        QVERIFY(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    }

    // Real weights: every matrix of stories260K (fp32) whose rows fit the block
    void realWeightsEqualLlamaCpp()
    {
        const auto st = SafetensorsFile::open(testdata::stories260K() + "/model.safetensors");
        int compared = 0;
        for (const TypeInfo& t : ggmlTypes()) {
            for (const auto& info : st->tensors()) {
                if (info.shape.size() != 2 || info.shape[1] % t.block != 0 || info.dtype != DType::F32)
                    continue;
                const int64_t rows = info.shape[0], cols = info.shape[1];
                std::vector<float> w(std::size_t(rows * cols));
                std::memcpy(w.data(), info.data, w.size() * 4);
                const std::vector<float> qw = importance(cols, 5);
                for (const float* im : {(const float*)nullptr, qw.data()}) {
                    if (!im && ggml_quantize_requires_imatrix(ggml_type(t.type)))
                        continue; // refused (bytesEqualLlamaCpp)
                    const std::size_t bytes = std::size_t(rowBytes(t.type, cols) * rows);
                    std::vector<uint8_t> ours(bytes), theirs(bytes);
                    quantizeRows(t.type, w.data(), ours.data(), rows, cols, im);
                    ggml_quantize_chunk(ggml_type(t.type), w.data(), theirs.data(), 0, rows, cols, im);
                    if (firstDifference(ours.data(), theirs.data(), bytes) >= 0)
                        QFAIL(qPrintable(QString("%1 %2%3 differs").arg(info.name.c_str(), t.name).arg(im ? " (imatrix)" : "")));
                    ++compared;
                }
            }
        }
        QVERIFY(compared > 50);
    }

    void refusesRaggedRows()
    {
        std::vector<float> x(300);
        std::vector<uint8_t> out(1000);
        QCOMPARE(QString::fromStdString(testdata::errorOf([&] { quantizeRows(TensorType::Q4_K, x.data(), out.data(), 1, 300, nullptr); })),
                 QString("Q4_K needs rows of a multiple of 256 elements, not 300"));
    }
};

QTEST_GUILESS_MAIN(TestGgmlKernels)
#include "test_ggml_kernels.moc"
