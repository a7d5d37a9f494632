// Quantization-aware fine-tuning (#5): 200 steps at 3 bits (fake quant with a
// straight-through estimator, and Quant-Noise) make round-to-nearest lose less
// on a held-out text than round-to-nearest of the original weights; a
// cancelled run keeps its steps; bad settings are refused.
#include <ATen/ATen.h>
#include "core/util/error.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "core/quant/qat.h"
#include "core/quant/quant_report.h"
#include "test_data.h"

#include <QtTest>

using namespace tailor;

namespace {
double ppl(const Model& m, const std::vector<int32_t>& ids)
{
    EvalOptions eo;
    eo.seq_len = 256;
    eo.max_windows = 64; // of the text's 154: the effects checked are ten times the sampling noise
    return evaluatePerplexity(m, ids, eo).ppl;
}
} // namespace

class TestQat : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void qatBeatsRoundToNearest_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<double>("quantNoise");
        QTest::addColumn<double>("kd");
        QTest::newRow("stories260K QAT") << "stories260K" << 1.0 << 0.0;
        QTest::newRow("stories260K Quant-Noise 0.5") << "stories260K" << 0.5 << 0.0;
        QTest::newRow("tinystories-12L QAT + self-distillation") << "tinystories-12L" << 1.0 << 1.0;
    }
    void qatBeatsRoundToNearest()
    {
        QFETCH(QString, model);
        QFETCH(double, quantNoise);
        QFETCH(double, kd);
        const auto s = ModelSession::open(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
        const TokenWindows train = cutWindows(s->tokenizeFile(testdata::calibText()), 128, 0, "calib");
        const auto heldOut = s->tokenizeFile(testdata::validText()); // not trained on
        QatOptions o;
        o.scheme = QuantScheme::parse("int3_sym_g32");
        o.steps = 200;
        o.quant_noise = quantNoise;
        o.kd_weight = kd;
        QuantOptions rtn;
        rtn.scheme = o.scheme;
        const double dense = ppl(s->model(), heldOut);
        const double before = ppl(*quantizeModel(s->model(), nullptr, rtn).model, heldOut);
        const QatResult r = quantAwareTrain(s->model(), train, o);
        const double after = ppl(*r.quantized, heldOut);
        // the quantized model is exactly RTN of the trained weights
        const double rtnOfTrained = ppl(*quantizeModel(*r.trained, nullptr, rtn).model, heldOut);
        qInfo("%s int3_sym_g32, %s, 200 steps (%.1f s): held-out PPL dense %.4f, RTN %.4f -> after training %.4f",
              qPrintable(model), quantNoise < 1 ? "Quant-Noise p=0.5" : kd > 0 ? "QAT + self-distillation" : "QAT (STE)", r.seconds,
              dense, before, after);
        QCOMPARE(r.steps_done, int64_t(200));
        QVERIFY(after < before);
        QCOMPARE(after, rtnOfTrained);
        QVERIFY(r.curve.back().loss < r.curve.front().loss);
    }

    void cancelAndBadSettings()
    {
        const auto s = ModelSession::open(testdata::stories260K());
        const TokenWindows train = cutWindows(s->tokenizeFile(testdata::calibText()), 128, 0, "calib");
        QatOptions o;
        o.scheme = QuantScheme::parse("int4_sym_g32");
        o.steps = 50;
        const QatResult r = quantAwareTrain(s->model(), train, o, [](const Progress& p) { return p.fraction < 0.1 - 1e-9; });
        QVERIFY(r.cancelled);
        QCOMPARE(r.steps_done, int64_t(5));
        QVERIFY(!at::equal(r.trained->raw("model.layers.0.mlp.up_proj.weight").to(at::kFloat),
                           s->model().raw("model.layers.0.mlp.up_proj.weight").to(at::kFloat)));
        QatOptions bad = o;
        bad.quant_noise = 0;
        QVERIFY(testdata::throwsWith([&] { quantAwareTrain(s->model(), train, bad); }, "Quant-Noise share 0.000000 is outside (0, 1]"));
        bad = o;
        bad.scheme.bits = 9;
        QVERIFY(testdata::throwsWith([&] { quantAwareTrain(s->model(), train, bad); }, "quantization to 9 bits is not supported (2 to 8 bits)"));
        bad = o;
        bad.seq_len = 64; // windows of 128
        QVERIFY(testdata::throwsWith([&] { quantAwareTrain(s->model(), train, bad); }, "training text: no window of 64 tokens"));
        bad = o;
        bad.scheme = QuantScheme::parse("q4_0"); // stories260K's down_proj is 172 wide
        QVERIFY(testdata::throwsWith([&] { quantAwareTrain(s->model(), train, bad); }, "tensor 'model.layers.0.mlp.down_proj.weight': q4_0 needs a multiple of 32 input columns, it has 172"));
    }
};

QTEST_GUILESS_MAIN(TestQat)
#include "test_qat.moc"
