// The many-token products on packed weights (#32): the panel form of each
// block type holds the type's own values (against ggml's dequantization), and
// every GEMM kernel (AVX512-VNNI, AVX2, portable) equals its definition —
// Σ (decoded weight)·(input rounded to Q8_0), in double — and the batch-1
// decoder's matVec for each token, for every supported type, partial groups
// of rows and partial tiles of tokens included.
#include <ATen/ATen.h>

#include "core/decode/packed_gemm.h"
#include "core/decode/packed_matrix.h"
#include "core/decode/row_kernels.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/formats/gguf/ggml_quants.h"
#include "core/eval/fidelity.h"
#include "core/eval/perplexity.h"
#include "core/export/gguf_export.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/util/error.h"
#include "test_data.h"

#include <QElapsedTimer>
#include <QtTest>

#include <cmath>

using namespace tailor;

namespace {

struct Encoded {
    QByteArray bytes;
    decode::PackedMatrix m;
    std::vector<float> deq;
};

Encoded encode(gguf::TensorType t, int64_t rows, int64_t cols, int seed)
{
    at::manual_seed(seed);
    // a few large weights, as real layers have, so scales and mins vary
    const at::Tensor w = at::randn({rows, cols}) * 0.05 + (at::rand({rows, cols}) > 0.99).to(at::kFloat) * 0.5;
    Encoded e;
    e.bytes = gguf::encodeRows(w, t);
    e.m = decode::PackedMatrix::over(t, rows, cols, e.bytes.constData());
    e.deq.resize(std::size_t(rows * cols));
    gguf::dequantizeRows(t, e.bytes.constData(), e.deq.data(), rows * cols);
    return e;
}

std::vector<float> inputs(int64_t tokens, int64_t cols)
{
    std::vector<float> x(std::size_t(tokens * cols));
    for (int64_t t = 0; t < tokens; ++t)
        for (int64_t i = 0; i < cols; ++i) // one outlier a block in some tokens, as activations have
            x[std::size_t(t * cols + i)] = float(std::sin(0.37 * double(i) + 1.3 * double(t)) * (1 + ((i + t) % 97 == 0 ? 20 : 0)));
    return x;
}

const char* const kTypes[] = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"};

} // namespace

class TestPackedGemm : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void panelsHoldTheTypesValues_data()
    {
        QTest::addColumn<QString>("type");
        for (const char* t : kTypes)
            QTest::newRow(t) << QString(t);
    }

    // s·u + m of every element equals ggml's dequantization of the same bytes.
    void panelsHoldTheTypesValues()
    {
        QFETCH(QString, type);
        const auto t = *gguf::typeFromName(type.toStdString());
        const Encoded e = encode(t, 37, 768, 5);
        QVERIFY(decode::hasPanelForm(t));
        const decode::PanelMatrix p = decode::makePanels(e.m);
        QCOMPARE(p.groups(), 3);
        double worst = 0;
        for (int64_t r = 0; r < 37; ++r)
            for (int64_t k = 0; k < 768; ++k) {
                const double ref = e.deq[std::size_t(r * 768 + k)];
                worst = std::max(worst, std::abs(double(decode::panelValue(p, r, k)) - ref) / std::max(1e-3, std::abs(ref)));
            }
        QVERIFY2(worst < 1e-6, qPrintable(QString::number(worst)));
    }

    void kernelsEqualTheirDefinition_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<int>("kernel");
        for (const char* t : kTypes)
            for (auto k : {decode::GemmKernel::Avx512Vnni, decode::GemmKernel::Avx2, decode::GemmKernel::Portable})
                QTest::newRow(qPrintable(QString("%1 %2").arg(t, decode::gemmKernelName(k)))) << QString(t) << int(k);
    }

    // Each kernel against Σ (decoded weight)·(input rounded to Q8_0) in double,
    // and against the batch-1 decoder's matVec of each token (independent code).
    void kernelsEqualTheirDefinition()
    {
        QFETCH(QString, type);
        QFETCH(int, kernel);
        const auto k = decode::GemmKernel(kernel);
        const decode::GemmKernel before = decode::useGemmKernel(k);
        const std::shared_ptr<void> restore(nullptr, [before](void*) { decode::useGemmKernel(before); });
        if (decode::useGemmKernel(k) != k)
            QSKIP(qPrintable(QString("this CPU has no %1").arg(decode::gemmKernelName(k))));
        const auto t = *gguf::typeFromName(type.toStdString());
        const int64_t rows = 37, cols = 768, tokens = 11; // a partial group and partial tiles
        const Encoded e = encode(t, rows, cols, 7);
        const decode::PanelMatrix p = decode::makePanels(e.m);
        const std::vector<float> x = inputs(tokens, cols);
        decode::QuantizedRows xq;
        xq.set(x.data(), tokens, cols, cols);
        const int64_t ldy = rows + 3;
        std::vector<float> y(std::size_t(tokens * ldy), -7.f);
        decode::gemm(p, xq, y.data(), ldy);
        double worstDef = 0, worstVec = 0;
        for (int64_t tok = 0; tok < tokens; ++tok) {
            decode::Activation a;
            a.set(x.data() + tok * cols, cols, false);
            std::vector<float> v(static_cast<std::size_t>(rows));
            decode::matVec(e.m, a, v.data());
            for (int64_t r = 0; r < rows; ++r) {
                double ref = 0, mag = 0;
                for (int64_t i = 0; i < cols; ++i) {
                    QCOMPARE(xq.q(tok)[i], a.q8()[i]); // one rounding for both paths
                    const double xi = double(xq.q(tok)[i]) * double(xq.d(tok)[i / 32]);
                    ref += double(e.deq[std::size_t(r * cols + i)]) * xi;
                    mag += std::abs(double(e.deq[std::size_t(r * cols + i)]) * xi);
                }
                const double got = y[std::size_t(tok * ldy + r)];
                worstDef = std::max(worstDef, std::abs(got - ref) / mag);
                if (decode::kernels::hasInt8Kernel(t))
                    worstVec = std::max(worstVec, std::abs(got - double(v[std::size_t(r)])) / mag);
            }
            for (int64_t r = rows; r < ldy; ++r) // nothing written past the rows
                QCOMPARE(y[std::size_t(tok * ldy + r)], -7.f);
        }
        qInfo("%s %s: max |gemm − definition| / Σ|terms| %.2e, against matVec %.2e", qPrintable(type), decode::gemmKernelName(k), worstDef,
              worstVec);
        QVERIFY2(worstDef < 1e-5, qPrintable(QString::number(worstDef)));
        QVERIFY2(worstVec < 1e-5, qPrintable(QString::number(worstVec)));
    }

    // The evaluation on int8 (llama.cpp's arithmetic) against the exact fp32
    // path on the same quantized weights: KLD from the dense model, PPL.
    void int8EvaluationTracksFp32_data()
    {
        QTest::addColumn<QString>("type");
        QTest::newRow("q4_k_m") << "q4_k_m";
        QTest::newRow("q4_0") << "q4_0";
    }

    void int8EvaluationTracksFp32()
    {
        QFETCH(QString, type);
        const auto s = ModelSession::open(testdata::tinystories12L());
        GgufExportOptions g;
        g.type = type.toStdString();
        const auto q = ggufQuantizedModel(s->model(), {}, g);
        const TokenWindows w = cutWindows(s->tokenizeFile(testdata::validText()), 256, 32, "valid");
        FidelityOptions fo;
        QElapsedTimer clock;
        clock.start();
        const FidelityResult exact = compareToBase(s->model(), *q, w, fo);
        const double tExact = clock.restart() / 1000.0;
        fo.int8_products = true;
        const FidelityResult i8 = compareToBase(s->model(), *q, w, fo);
        const double tInt8 = clock.restart() / 1000.0;
        // the quantized model on int8 against itself on fp32: the input rounding's own drift
        const FidelityResult drift = compareToBase(*q, *q, w, fo);
        qInfo("%s: KLD fp32 %.5f int8 %.5f (diff %.2e; drift of the rounding %.2e), top-1 %.4f / %.4f, PPL %.5f / %.5f; "
              "%lld windows, %.1f s / %.1f s",
              qPrintable(type), exact.kld_mean, i8.kld_mean, i8.kld_mean - exact.kld_mean, drift.kld_mean, exact.top1_agreement,
              i8.top1_agreement, exact.ppl, i8.ppl, (long long)w.count, tExact, tInt8);
        QVERIFY(drift.kld_mean > 0);            // the inputs really were rounded
        QCOMPARE(i8.base_ppl, exact.base_ppl); // the base stays on fp32
        // the bound docs/benchmarks.md states: the KLD moves by at most twice the rounding's own drift
        QVERIFY2(std::abs(i8.kld_mean - exact.kld_mean) <= 2 * drift.kld_mean,
                 qPrintable(QString("%1 vs %2 (drift %3)").arg(i8.kld_mean).arg(exact.kld_mean).arg(drift.kld_mean)));
        QVERIFY(std::abs(i8.ppl / exact.ppl - 1) < 2e-3);
        // evaluatePerplexity takes the same path
        EvalOptions eo;
        eo.int8_products = true;
        const EvalResult e = evaluateWindows(*q, w, eo);
        QVERIFY2(std::abs(e.ppl / i8.ppl - 1) < 1e-5, qPrintable(QString("%1 vs %2").arg(e.ppl).arg(i8.ppl)));
    }

    void badInput()
    {
        decode::PackedMatrix m;
        m.type = gguf::TensorType::IQ2_XXS;
        m.rows = 16;
        m.cols = 256;
        try {
            decode::makePanels(m);
            QFAIL("an IQ2_XXS matrix was given a panel form");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("no panel form for IQ2_XXS"), e.what());
        }
        const Encoded e = encode(gguf::TensorType::Q8_0, 16, 64, 1);
        const decode::PanelMatrix p = decode::makePanels(e.m);
        decode::QuantizedRows xq;
        const std::vector<float> x = inputs(2, 96);
        xq.set(x.data(), 2, 96, 96);
        std::vector<float> y(64);
        try {
            decode::gemm(p, xq, y.data(), 16);
            QFAIL("a 64-column matrix multiplied 96-value inputs");
        } catch (const Error& err) {
            QVERIFY2(QString(err.what()).contains("64 columns applied to inputs of 96"), err.what());
        }
        try {
            xq.set(x.data(), 1, 40, 40);
            QFAIL("inputs of 40 values were rounded to Q8_0 blocks");
        } catch (const Error& err) {
            QVERIFY2(QString(err.what()).contains("multiple of 32 values, got 40"), err.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestPackedGemm)
#include "test_packed_gemm.moc"
