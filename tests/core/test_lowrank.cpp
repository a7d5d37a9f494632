// Low-rank lab engine (#6): singular values against the golden, energy and
// break-even figures, whitened vs plain SVD at equal budgets, bad settings.
#include "core/error.h"
#include "core/lowrank/factorize.h"
#include "core/lowrank/spectrum.h"
#include "core/model_session.h"
#include "core/perplexity.h"
#include "test_data.h"

#include <QtTest>

using namespace tailor;

class TestLowRank : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void svdvalsMatchGolden_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("stories260K") << "stories260K";
        QTest::newRow("tinystories-12L") << "tinystories-12L";
    }
    void svdvalsMatchGolden()
    {
        QFETCH(QString, model);
        const auto s = ModelSession::open(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
        const std::string name = "model.layers.1.mlp.gate_proj.weight";
        const auto spectra = computeSpectra(s->model(), {name});
        const auto want = testdata::toDoubles(testdata::golden(model).value(QString::fromStdString("svdvals_" + name)));
        const auto& got = spectra[0].singular_values;
        QCOMPARE(got.size(), want.size());
        double worst = 0;
        for (std::size_t i = 0; i < want.size(); ++i)
            worst = std::max(worst, testdata::relErr(got[i], want[i]));
        qInfo("%s: worst relative error of %zu singular values %.2e", qPrintable(model), want.size(), worst);
        QVERIFY(worst < 1e-4);
        const LayerSpectrum& sp = spectra[0];
        QCOMPARE(sp.break_even_rank, sp.rows * sp.cols / (sp.rows + sp.cols));
        QVERIFY(sp.rank90 <= sp.rank95 && sp.rank95 <= sp.rank99 && sp.rank99 <= int64_t(want.size()));
        QVERIFY(sp.energyAt(sp.rank95) >= 0.95 && sp.energyAt(sp.rank95 - 1) < 0.95);
        QVERIFY(sp.effective_rank > 1 && sp.effective_rank <= double(want.size()));
    }

    void whitenedBeatsPlain()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        const TokenWindows calib = calibrationWindows(s->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
        const auto spectra = computeSpectra(s->model(), linearLayers(s->model(), ""));
        EvalOptions eo;
        eo.seq_len = 128;
        const double dense = evaluateWindows(s->model(), calib, eo).ppl;
        for (double budget : {0.8, 0.6}) {
            const auto ranks = ranksByBudget(spectra, budget);
            const LowRankResult plain = factorizeModel(s->model(), calib, ranks, false);
            const LowRankResult white = factorizeModel(s->model(), calib, ranks, true);
            QCOMPARE(plain.params_after, white.params_after);
            QVERIFY(double(plain.params_after) <= budget * double(plain.params_before));
            const double pPlain = evaluateWindows(*plain.model, calib, eo).ppl;
            const double pWhite = evaluateWindows(*white.model, calib, eo).ppl;
            qInfo("tinystories-12L budget %.1f: calibration PPL plain SVD %.4f, whitened %.4f (dense %.4f)", budget, pPlain, pWhite, dense);
            QVERIFY(pWhite < pPlain);
            for (std::size_t i = 0; i < plain.layers.size(); ++i)
                QVERIFY(white.layers[i].output_rel_err <= plain.layers[i].output_rel_err + 1e-9);
        }
    }

    void fullRankIsExact()
    {
        const auto s = ModelSession::open(testdata::stories260K());
        const TokenWindows calib = calibrationWindows(s->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
        const LowRankResult r = factorizeModel(s->model(), calib, {{"model.layers.0.self_attn.q_proj.weight", 64}}, false);
        QVERIFY(r.layers[0].output_rel_err < 1e-5);
    }

    void badSettings()
    {
        const auto s = ModelSession::open(testdata::stories260K());
        const TokenWindows calib = calibrationWindows(s->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
        const std::string q = "model.layers.0.self_attn.q_proj.weight";
        QVERIFY(testdata::throwsA<Error>([&] { factorizeModel(s->model(), calib, {{q, 0}}, false); }));
        QVERIFY(testdata::throwsA<Error>([&] { factorizeModel(s->model(), calib, {{q, 65}}, false); }));
        QVERIFY(testdata::throwsA<Error>([&] { factorizeModel(s->model(), calib, {{"model.layers.9.mlp.up_proj.weight", 4}}, false); }));
        const auto spectra = computeSpectra(s->model(), {q});
        QVERIFY(testdata::throwsA<Error>([&] { ranksByBudget(spectra, 0.0); }));
        QVERIFY(testdata::throwsA<Error>([&] { ranksByBudget(spectra, 1.5); }));
        QVERIFY(testdata::throwsA<Error>([&] { ranksByEnergy(spectra, 0.0); }));
        QVERIFY(testdata::throwsA<Error>([&] { linearLayers(s->model(), "nothing_matches"); }));
        // a calibration set with a single window of 2 tokens gives a singular XᵀX: damped and said
        TokenWindows tiny = cutWindows(s->tokenizeFile(testdata::calibText()), 2, 1, "tiny");
        const LowRankResult r = factorizeModel(s->model(), tiny, {{q, 8}}, true);
        QCOMPARE(int(r.warnings.size()), 1);
        QVERIFY(QString::fromStdString(r.warnings[0]).contains("singular"));
    }
};

QTEST_GUILESS_MAIN(TestLowRank)
#include "test_lowrank.moc"
