// KL divergence and top-1 agreement against a base model (#16), against the
// independent golden for tinystories-12L without blocks 5, 6, 7.
#include "core/util/error.h"
#include "core/eval/fidelity.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "test_data.h"

#include <QTest>

using namespace tailor;

class TestFidelity : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void kldMatchesGolden()
    {
        const QJsonObject g = testdata::readJson(testdata::root() + "/golden/tinystories-12L.kld-drop-5-6-7.json").object();
        const auto s = ModelSession::open(testdata::tinystories12L());
        const TokenWindows w = cutWindows(s->tokenizeFile(testdata::validText()), 256, 0, "valid");
        FidelityOptions o;
        o.model_drop = {5, 6, 7};
        const FidelityResult r = compareToBase(s->model(), s->model(), w, o);
        QCOMPARE(r.positions, qint64(g["positions"].toDouble()));
        qInfo("kld mean %.8g (golden %.8g) median %.8g (%.8g) p99 %.8g (%.8g) max %.8g (%.8g) top1 %.8g (%.8g)", r.kld_mean,
              g["kld_mean"].toDouble(), r.kld_median, g["kld_median"].toDouble(), r.kld_p99, g["kld_p99"].toDouble(), r.kld_max,
              g["kld_max"].toDouble(), r.top1_agreement, g["top1_agreement"].toDouble());
        QVERIFY(testdata::relErr(r.kld_mean, g["kld_mean"].toDouble()) < 1e-4);
        QVERIFY(testdata::relErr(r.kld_median, g["kld_median"].toDouble()) < 1e-4);
        QVERIFY(testdata::relErr(r.kld_p99, g["kld_p99"].toDouble()) < 1e-4);
        QVERIFY(std::abs(r.top1_agreement - g["top1_agreement"].toDouble()) < 1e-6);
        QVERIFY(testdata::relErr(r.base_ppl, g["ppl_base"].toDouble()) < 1e-4);
        QVERIFY(testdata::relErr(r.ppl, g["ppl_pruned"].toDouble()) < 1e-4);
        // the same model against itself: no drift at all
        FidelityOptions same;
        const FidelityResult z = compareToBase(s->model(), s->model(), cutWindows(s->tokenizeFile(testdata::validText()), 256, 4, "valid"), same);
        QCOMPARE(z.kld_max, 0.0);
        QCOMPARE(z.top1_agreement, 1.0);
    }

    void otherVocabularyRefused()
    {
        const auto a = ModelSession::open(testdata::tinystories12L());
        const auto q = ModelSession::open((testdata::root() + "/models/qwen3-synthetic").toStdString());
        const TokenWindows w = cutWindows(a->tokenizeFile(testdata::validText()), 128, 1, "valid");
        const QString e = QString::fromStdString(testdata::errorOf([&] { compareToBase(q->model(), a->model(), w, {}); }));
        QVERIFY2(e.contains("KL divergence needs the same token space"), qPrintable(e));
    }
};

QTEST_GUILESS_MAIN(TestFidelity)
#include "test_fidelity.moc"
