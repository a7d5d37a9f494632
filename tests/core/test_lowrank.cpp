// Low-rank lab engine (#6): singular values against the golden, energy and
// break-even figures, randomized top-k against the golden, the disk cache,
// whitened vs plain SVD at equal budgets, bad settings.
#include "core/util/error.h"
#include "core/lowrank/factorize.h"
#include "core/lowrank/spectrum.h"
#include "core/lowrank/spectrum_cache.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "test_data.h"

#include <QDir>
#include <QTemporaryDir>
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
        QVERIFY(testdata::throwsWith([&] { factorizeModel(s->model(), calib, {{q, 0}}, false); }, "rank 0 for 'model.layers.0.self_attn.q_proj.weight' is outside 1..64"));
        QVERIFY(testdata::throwsWith([&] { factorizeModel(s->model(), calib, {{q, 65}}, false); }, "rank 65 for 'model.layers.0.self_attn.q_proj.weight' is outside 1..64"));
        QVERIFY(testdata::throwsWith([&] { factorizeModel(s->model(), calib, {{"model.layers.9.mlp.up_proj.weight", 4}}, false); }, "rank given for 'model.layers.9.mlp.up_proj.weight', which this model does not have as a weight matrix (a plan for another model?)"));
        const auto spectra = computeSpectra(s->model(), {q});
        QVERIFY(testdata::throwsWith([&] { ranksByBudget(spectra, 0.0); }, "parameter budget 0.000000 is outside (0, 1]"));
        QVERIFY(testdata::throwsWith([&] { ranksByBudget(spectra, 1.5); }, "parameter budget 1.500000 is outside (0, 1]"));
        QVERIFY(testdata::throwsWith([&] { ranksByEnergy(spectra, 0.0); }, "energy threshold 0.000000 is outside (0, 1]"));
        QVERIFY(testdata::throwsWith([&] { linearLayers(s->model(), "nothing_matches"); }, "layer regex 'nothing_matches' matches no linear layer (names look like model.layers.3.mlp.up_proj.weight)"));
        // a calibration set with a single window of 2 tokens gives a singular XᵀX: damped and said
        TokenWindows tiny = cutWindows(s->tokenizeFile(testdata::calibText()), 2, 1, "tiny");
        const LowRankResult r = factorizeModel(s->model(), tiny, {{q, 8}}, true);
        QCOMPARE(int(r.warnings.size()), 1);
        QVERIFY(QString::fromStdString(r.warnings[0]).contains("singular"));
    }

    // Randomized top-k: lower bounds of the golden values, closer with more
    // power iterations; Σσ² stays exact so energy shares are shares of the whole.
    void randomizedTopK()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        const std::string name = "model.layers.1.mlp.gate_proj.weight";
        const auto want = testdata::toDoubles(testdata::golden("tinystories-12L").value(QString::fromStdString("svdvals_" + name)));
        double total = 0, top16 = 0;
        for (std::size_t i = 0; i < want.size(); ++i)
            total += want[i] * want[i], top16 += i < 16 ? want[i] * want[i] : 0;
        double previous = 1e9;
        for (int q : {0, 2, 8}) {
            SpectrumOptions opt;
            opt.top_k = 16;
            opt.power_iterations = q;
            const LayerSpectrum r = computeSpectra(s->model(), {name}, {}, opt).at(0);
            QVERIFY(r.randomized);
            QCOMPARE(r.singular_values.size(), std::size_t(16));
            QVERIFY(testdata::relErr(r.total_energy, total) < 1e-5);
            double worst = 0;
            for (std::size_t i = 0; i < 16; ++i) {
                QVERIFY2(r.singular_values[i] <= want[i] * (1 + 1e-5), "a Ritz value above the true singular value");
                worst = std::max(worst, testdata::relErr(r.singular_values[i], want[i]));
            }
            qInfo("top-16 of %s, %d power iterations: worst relative error %.2e, residual %.3f", name.c_str(), q, worst, r.residual);
            QVERIFY(worst < previous);
            previous = worst;
            QVERIFY(r.energyAt(16) <= top16 / total + 1e-6);
            QVERIFY(r.residual > 0 && r.residual < 1);
            QVERIFY(std::isnan(r.effective_rank));
            QCOMPARE(r.rank99, int64_t(-1)); // 99 % of a flat spectrum lies far beyond the top 16
        }
        QVERIFY(previous < 0.01);
        SpectrumOptions big;
        big.top_k = 128; // not below min(m, n): the exact spectrum
        QVERIFY(!computeSpectra(s->model(), {name}, {}, big).at(0).randomized);
        SpectrumOptions small;
        small.top_k = 4;
        const auto spectra = computeSpectra(s->model(), {name}, {}, small);
        QVERIFY(testdata::throwsWith([&] { ranksByEnergy(spectra, 0.99); }, "model.layers.1.mlp.gate_proj.weight: 0.990000 of the energy lies beyond the top 4 singular values computed; raise --top-k or use the exact spectrum"));
    }

    // The disk cache returns what was computed, and a damaged entry is recomputed.
    void spectraCache()
    {
        QTemporaryDir dir;
        qputenv("TAILOR_CACHE_DIR", dir.path().toUtf8());
        const auto s = ModelSession::open(testdata::stories260K());
        const auto layers = linearLayers(s->model(), "layers\\.[01]\\.");
        const auto fresh = cachedSpectra(*s, layers);
        QCOMPARE(QDir(dir.path()).entryList({"spectra-*.json"}).size(), int(layers.size()));
        const auto exact = computeSpectra(s->model(), layers);
        int computed = 0;
        const auto again = cachedSpectra(*s, layers, [&](const Progress& p) {
            computed += QString::fromStdString(p.stage).startsWith("SVD of");
            return true;
        });
        QCOMPARE(computed, 0);
        for (std::size_t i = 0; i < layers.size(); ++i) {
            QCOMPARE(again[i].singular_values, exact[i].singular_values);
            QCOMPARE(again[i].rank95, exact[i].rank95);
            QCOMPARE(fresh[i].singular_values, exact[i].singular_values);
        }
        for (const QString& f : QDir(dir.path()).entryList({"spectra-*.json"})) {
            QFile file(dir.filePath(f));
            QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
            file.write("{\"key\": 1, \"val");
        }
        const auto repaired = cachedSpectra(*s, layers);
        for (std::size_t i = 0; i < layers.size(); ++i)
            QCOMPARE(repaired[i].singular_values, exact[i].singular_values);
        qunsetenv("TAILOR_CACHE_DIR");
    }
};

QTEST_GUILESS_MAIN(TestLowRank)
#include "test_lowrank.moc"
