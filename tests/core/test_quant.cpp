// Quantization lab engine (#5): the six golden schemes, int8 per-channel PPL,
// the per-layer report and bad settings.
#include <ATen/ATen.h>

#include "core/error.h"
#include "core/model.h"
#include "core/model_session.h"
#include "core/perplexity.h"
#include "core/quant/linear_quantizer.h"
#include "core/quant/quant_report.h"
#include "test_data.h"

#include <QtTest>

using namespace tailor;

class TestQuant : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void goldenSchemes_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("stories260K") << "stories260K";
        QTest::newRow("tinystories-12L") << "tinystories-12L";
    }
    void goldenSchemes()
    {
        QFETCH(QString, model);
        const auto m = Model::load(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
        const std::string name = "model.layers.1.self_attn.q_proj.weight";
        const at::Tensor w = m->raw(name).to(at::kFloat);
        const QJsonObject g = testdata::golden(model).value(QString::fromStdString("quant_" + name)).toObject();
        QCOMPARE(g.size(), 6);
        for (auto it = g.begin(); it != g.end(); ++it) {
            const QuantScheme s = QuantScheme::parse(it.key().toStdString());
            QCOMPARE(QString::fromStdString(s.name()), it.key());
            const at::Tensor err = (fakeQuantize(w, s) - w).to(at::kDouble);
            const double mse = err.pow(2).mean().item<double>(), maxErr = err.abs().max().item<double>();
            const QJsonObject want = it.value().toObject();
            qInfo("%s %s: mse %.6g (golden %.6g), max %.6g (golden %.6g)", qPrintable(model), qPrintable(it.key()), mse,
                  want.value("mse").toDouble(), maxErr, want.value("max_abs_err").toDouble());
            QVERIFY(testdata::relErr(mse, want.value("mse").toDouble()) < 1e-4);
            QVERIFY(testdata::relErr(maxErr, want.value("max_abs_err").toDouble()) < 1e-4);
        }
    }

    void int8ChannelKeepsPpl()
    {
        const auto session = ModelSession::open(testdata::stories260K());
        const auto ids = session->tokenizeFile(testdata::validText());
        QuantOptions qo;
        qo.scheme = QuantScheme::parse("int8_sym_channel");
        const QuantReport rep = quantizeModel(session->model(), nullptr, qo);
        QCOMPARE(int(rep.layers.size()), 5 * 7);
        EvalOptions eo;
        eo.seq_len = 256;
        const double dense = evaluatePerplexity(session->model(), ids, eo).ppl;
        const double quant = evaluatePerplexity(*rep.model, ids, eo).ppl;
        qInfo("stories260K int8_sym_channel: PPL %.6f vs dense %.6f (%+.3f %%)", quant, dense, 100 * (quant / dense - 1));
        QVERIFY(std::abs(quant / dense - 1) < 0.01);
        QVERIFY(quant != dense); // the weights did change
        // the session's model is untouched
        QCOMPARE(evaluatePerplexity(session->model(), ids, eo).ppl, dense);
    }

    void reportWithCalibration()
    {
        const auto session = ModelSession::open(testdata::tinystories12L());
        const TokenWindows calib = calibrationWindows(session->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
        QuantOptions qo;
        qo.scheme = QuantScheme::parse("int4_sym_g32");
        qo.layers_regex = "mlp\\.(gate|up)_proj";
        const QuantReport rep = quantizeModel(session->model(), &calib, qo);
        QCOMPARE(int(rep.layers.size()), 24);
        for (const auto& l : rep.layers) {
            QVERIFY(l.kind == "gate" || l.kind == "up");
            QVERIFY(l.output_rel_err > 0 && l.output_rel_err < 1);
            QVERIFY(l.sqnr_db > 5 && l.sqnr_db < 40);
            QVERIFY(l.kurtosis > 1);
            // SQNR and MSE agree: 10 log10(E[w²] / mse)
            const at::Tensor w = session->model().raw(l.name).to(at::kDouble);
            QVERIFY(std::abs(l.sqnr_db - 10 * std::log10(w.pow(2).mean().item<double>() / l.mse)) < 1e-6);
        }
        QVERIFY(std::abs(rep.bits_per_weight - (4 + 16.0 / 32)) < 1e-12);
        // MSE-optimal clipping never does worse than min-max, group by group
        qo.scheme = QuantScheme::parse("int3_sym_g32_mse");
        const QuantReport mse = quantizeModel(session->model(), &calib, qo);
        qo.scheme = QuantScheme::parse("int3_sym_g32");
        const QuantReport minmax = quantizeModel(session->model(), &calib, qo);
        for (std::size_t i = 0; i < mse.layers.size(); ++i)
            QVERIFY(mse.layers[i].mse <= minmax.layers[i].mse);
    }

    // 172 columns in groups of 32: five full groups and one of 12 with its own scale.
    void partialLastGroup()
    {
        const auto m = Model::load(testdata::stories260K());
        const at::Tensor w = m->raw("model.layers.0.mlp.down_proj.weight").to(at::kFloat);
        const QuantScheme s = QuantScheme::parse("int4_asym_g32");
        QuantGrid grid;
        const at::Tensor deq = fakeQuantize(w, s, &grid);
        QCOMPARE(grid.scale.numel(), w.size(0) * 6);
        QuantScheme tail = s;
        tail.group = 12;
        QVERIFY(at::equal(deq.narrow(1, 160, 12), fakeQuantize(w.narrow(1, 160, 12).contiguous(), tail)));
        QVERIFY(at::equal(deq.narrow(1, 0, 160), fakeQuantize(w.narrow(1, 0, 160).contiguous(), s)));
    }

    // GPTQ lowers calibration PPL below round-to-nearest (#5).
    void gptqBeatsRtn_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("scheme");
        for (const char* m : {"stories260K", "tinystories-12L"})
            for (const char* sc : {"int4_sym_g32", "int3_sym_g32", "int4_asym_g32"})
                QTest::newRow(qPrintable(QString("%1 %2").arg(m, sc))) << m << sc;
    }
    void gptqBeatsRtn()
    {
        QFETCH(QString, model);
        QFETCH(QString, scheme);
        const auto s = ModelSession::open(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
        const TokenWindows calib = calibrationWindows(s->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
        QuantOptions qo;
        qo.scheme = QuantScheme::parse(scheme.toStdString());
        EvalOptions eo;
        eo.seq_len = 128;
        const double dense = evaluateWindows(s->model(), calib, eo).ppl;
        const double rtn = evaluateWindows(*quantizeModel(s->model(), &calib, qo).model, calib, eo).ppl;
        qo.method = QuantMethod::Gptq;
        const double gptq = evaluateWindows(*quantizeModel(s->model(), &calib, qo).model, calib, eo).ppl;
        qo.act_order = true;
        const double gptqAct = evaluateWindows(*quantizeModel(s->model(), &calib, qo).model, calib, eo).ppl;
        qInfo("%s %s calibration PPL: dense %.4f, RTN %.4f, GPTQ %.4f, GPTQ act-order %.4f", qPrintable(model), qPrintable(scheme),
              dense, rtn, gptq, gptqAct);
        QVERIFY(gptq < rtn);
        QVERIFY(gptqAct < rtn);
    }

    void nonFiniteWeightsAreReported()
    {
        const auto base = Model::load(testdata::stories260K());
        auto m = base->derive();
        const std::string name = "model.layers.2.mlp.up_proj.weight";
        at::Tensor w = m->raw(name).to(at::kFloat).clone();
        w[0][0] = std::numeric_limits<float>::quiet_NaN();
        w[3][5] = std::numeric_limits<float>::infinity();
        m->replace(name, w);
        QuantOptions qo;
        qo.scheme = QuantScheme::parse("int4_asym_g32");
        const QuantReport rep = quantizeModel(*m, nullptr, qo);
        QCOMPARE(int(rep.warnings.size()), 1);
        QVERIFY(QString::fromStdString(rep.warnings[0]).contains(QString::fromStdString(name)));
        for (const auto& l : rep.layers)
            if (l.name == name) {
                QCOMPARE(l.nonfinite, int64_t(2));
                QVERIFY(!l.quantized);
            }
    }

    void badSettings()
    {
        const auto m = Model::load(testdata::stories260K());
        QVERIFY(testdata::throwsA<Error>([] { QuantScheme::parse("int9_sym_g32"); }));
        QVERIFY(testdata::throwsA<Error>([] { QuantScheme::parse("int1_sym_channel"); }));
        QVERIFY(testdata::throwsA<Error>([] { QuantScheme::parse("float4"); }));
        QuantOptions qo;
        qo.scheme = QuantScheme::parse("q4_0"); // down_proj has 172 input columns
        try {
            quantizeModel(*m, nullptr, qo);
            QFAIL("accepted q4_0 on 172 columns");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("model.layers.0.mlp.down_proj.weight"), e.what());
            QVERIFY2(QString(e.what()).contains("multiple of 32"), e.what());
        }
        qo.scheme = QuantScheme::parse("int4_sym_g32");
        qo.layers_regex = "no_such_layer";
        QVERIFY(testdata::throwsA<Error>([&] { quantizeModel(*m, nullptr, qo); }));
        qo.layers_regex = "([";
        QVERIFY(testdata::throwsA<Error>([&] { quantizeModel(*m, nullptr, qo); }));
    }
};

QTEST_GUILESS_MAIN(TestQuant)
#include "test_quant.moc"
