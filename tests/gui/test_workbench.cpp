// The workbench offscreen (#2, #4, #5, #6, #7): opens the demo model, evaluates, scans
// blocks, marks a bar, evaluates the selection; numbers are checked against
// tailor-cli and the goldens; the longest UI-thread stall is measured and
// logged; screenshots are saved to tests/out.
#include "ui/docks/eval_dock.h"
#include "ui/docks/job_dock.h"
#include "ui/job_runner.h"
#include "ui/main_window.h"
#include "ui/models/block_importance_model.h"
#include "ui/models/quant_rules_model.h"
#include "ui/models/ranks_model.h"
#include "ui/plan_store.h"
#include "ui/plots/plot_view.h"
#include "ui/resource_paths.h"
#include "ui/stall_meter.h"
#include "ui/tour_hint.h"
#include "ui/views/blocks_view.h"
#include "ui/views/quant_view.h"
#include "ui/views/budget_panel.h"
#include "ui/views/compress_view.h"
#include "ui/views/plan_editor.h"
#include "ui/views/fit_size_panel.h"
#include "core/compress/joint_search.h"
#include "ui/views/depth_width_panel.h"
#include "ui/views/lowrank_view.h"
#include "ui/views/width_view.h"
#include "ui/views/experts_view.h"
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSlider>

#include "core/compress/compression_plan.h"
#include "core/eval/fidelity.h"
#include "core/eval/file_comparison.h"
#include "core/compress/budget_search.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "test_data.h"

#include <QPlainTextEdit>
#include <set>

#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QTableWidget>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QScopeGuard>
#include <QSet>
#include <QSettings>
#include <QTimer>
#include <QtTest>
#include <QListWidget>
#include <unistd.h>

using namespace tailor;
using namespace tailor::ui;

namespace {

QJsonObject cliJson(const QStringList& args)
{
    QProcess p;
    p.start(QString::fromUtf8(TAILOR_CLI), args);
    p.waitForFinished(600000);
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

void saveShot(QWidget* w, const QString& name)
{
    QCoreApplication::processEvents(); // queued replots first
    const QString path = QStringLiteral(TAILOR_TEST_OUT) + "/" + name;
    QVERIFY(w->grab().save(path));
    qInfo("screenshot: %s", qPrintable(path));
}

// Types `text` into a table cell the way a user does: the view opens its
// editor on the cell, the text goes in, Return commits it through the
// delegate to the model's setData.
void typeIntoCell(QTableView* table, const QModelIndex& index, const QString& text)
{
    table->setCurrentIndex(index);
    table->edit(index);
    QLineEdit* editor = nullptr;
    for (QLineEdit* e : table->viewport()->findChildren<QLineEdit*>())
        if (e->isVisible())
            editor = e;
    QVERIFY2(editor, "no editor opened on the cell");
    editor->selectAll();
    QTest::keyClicks(editor, text);
    QTest::keyClick(editor, Qt::Key_Return);
    QCoreApplication::processEvents();
}

QByteArray fileBytes(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Report JSON with what is measured rather than computed left out (speeds,
// bandwidth, threads, the output path), numbers compared to `tol` relative.
QString reportDifference(const QJsonValue& a, const QJsonValue& b, const QString& at, double tol)
{
    static const QSet<QString> measured = {"output", "prefill_tokens_per_s", "decode_tokens_per_s", "decode_tokens_per_s_min",
                                           "decode_tokens_per_s_max", "prefill_tokens_per_s_min", "prefill_tokens_per_s_max",
                                           "read_bandwidth_bytes_per_s", "roofline_tokens_per_s", "threads", "speed_runs"};
    if (a.isObject() && b.isObject()) {
        const QJsonObject x = a.toObject(), y = b.toObject();
        if (x.keys() != y.keys())
            return at + ": keys differ";
        for (const QString& k : x.keys())
            if (!measured.contains(k))
                if (const QString d = reportDifference(x[k], y[k], at + "." + k, tol); !d.isEmpty())
                    return d;
        return {};
    }
    if (a.isArray() && b.isArray()) {
        const QJsonArray x = a.toArray(), y = b.toArray();
        if (x.size() != y.size())
            return at + ": lengths differ";
        for (int i = 0; i < x.size(); ++i)
            if (const QString d = reportDifference(x[i], y[i], at + QString("[%1]").arg(i), tol); !d.isEmpty())
                return d;
        return {};
    }
    if (a.isDouble() && b.isDouble())
        return testdata::relErr(a.toDouble(), b.toDouble()) <= tol ? QString() : at + QString(": %1 vs %2").arg(a.toDouble()).arg(b.toDouble());
    return a == b ? QString() : at + ": differs";
}

} // namespace

class TestWorkbench : public QObject {
    Q_OBJECT
    QTemporaryDir cacheDir_;
    std::unique_ptr<MainWindow> w_;

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        qputenv("TAILOR_CACHE_DIR", cacheDir_.path().toUtf8());
        QCoreApplication::setOrganizationName("TailorTest");
        QSettings().clear();
        w_ = std::make_unique<MainWindow>();
        w_->resize(1500, 950);
        w_->show();
        w_->openModel(demoModelDir());
        QTRY_VERIFY_WITH_TIMEOUT(w_->session() != nullptr, 30000);
        QCOMPARE(int(w_->session()->summary().n_layer), 12);
        QVERIFY(!w_->blocksView()->showingCachedResult()); // an empty cache: nothing to show yet
        // #31: before a scan the status says what is true and what to do next
        QTRY_COMPARE(w_->blocksView()->statusLabel()->text(), QString("Run the scan to score the 12 blocks."));
        saveShot(w_.get(), "blocks-before-scan.png");
    }

    // Every test function starts from the demo model, idle, on the first tab
    // and pages, and sets the choices it needs itself: none relies on what an
    // earlier one left, so any one runs alone (`test_workbench compressView`)
    // or in any order.
    void init()
    {
        QTRY_VERIFY_WITH_TIMEOUT(!w_->jobs()->busy(), 120000);
        const QString demo = QFileInfo(demoModelDir()).canonicalFilePath();
        auto onDemo = [&] { return w_->session() && QFileInfo(QString::fromStdString(w_->session()->dir())).canonicalFilePath() == demo; };
        if (!onDemo()) {
            w_->openModel(demoModelDir());
            QTRY_VERIFY_WITH_TIMEOUT(onDemo(), 60000);
        }
        w_->quantView()->pages()->setCurrentIndex(0);
        w_->compressView()->pages()->setCurrentIndex(0);
        w_->tabs()->setCurrentIndex(0);
        w_->planStore()->setCalib(demoCalibText().toStdString());
        w_->planStore()->setEvalText(demoEvalText().toStdString());
        w_->planStore()->setTask({});
    }

    // #31: a first run shows one line per tab of what to do first; dismissed,
    // it stays hidden (settings), also in a new window; View -> Show hints brings it back.
    void firstRunTour()
    {
        TourHint* hint = w_->tourHint();
        hint->restart();
        QVERIFY(hint->isVisible());
        QVERIFY2(hint->text()->text().startsWith("Blocks: run the scan"), qPrintable(hint->text()->text()));
        QSet<QString> seen;
        for (int t = 0; t < w_->tabs()->count(); ++t) {
            w_->tabs()->setCurrentIndex(t);
            QVERIFY(!hint->text()->text().isEmpty());
            seen.insert(hint->text()->text());
        }
        QCOMPARE(seen.size(), w_->tabs()->count()); // a hint of its own for every tab
        w_->tabs()->setCurrentIndex(0);
        saveShot(w_.get(), "first-run-hint.png");
        QTest::mouseClick(hint->dismissButton(), Qt::LeftButton);
        QVERIFY(!hint->isVisible());
        QVERIFY(QSettings().value("Tour/dismissed").toBool());
        MainWindow second; // remembered
        QVERIFY(second.tourHint()->isHidden());
        hint->restart();
        QVERIFY(hint->isVisible());
        QTest::mouseClick(hint->dismissButton(), Qt::LeftButton);
    }

    // #27: one calibration text and one evaluation text for the whole
    // workbench. Every view that shows one shows the store's, and a change
    // typed in any of them is the store's and every other view's.
    void oneCalibrationText()
    {
        PlanStore* store = w_->planStore();
        // the Compress page's and Low rank's whitening boxes show the store's one choice
        const QList<QCheckBox*> whitenBoxes = w_->findChildren<QCheckBox*>("plan.whiten");
        QCOMPARE(whitenBoxes.size(), 2);
        QVERIFY(store->plan().whiten); // the workbench's default
        for (QCheckBox* box : whitenBoxes)
            QCOMPARE(box->isChecked(), store->plan().whiten);
        whitenBoxes[0]->setChecked(!store->plan().whiten);
        for (QCheckBox* box : whitenBoxes)
            QCOMPARE(box->isChecked(), store->plan().whiten);
        whitenBoxes[1]->setChecked(true);
        QVERIFY(store->plan().whiten && whitenBoxes[0]->isChecked());
        const QList<QLineEdit*> calibs = w_->findChildren<QLineEdit*>("plan.calib");
        const QList<QLineEdit*> evals = w_->findChildren<QLineEdit*>("plan.eval");
        QCOMPARE(calibs.size(), 5); // Blocks, Quantization, Low rank, Width, Compress
        QCOMPARE(evals.size(), 3);  // Blocks, Size budget, Compress
        QTemporaryDir dir;
        const QString calib = dir.filePath("my-calibration.txt"), eval = dir.filePath("my-evaluation.txt");
        for (QLineEdit* typedIn : {calibs.first(), calibs.last()}) {
            typedIn->clear();
            QTest::keyClicks(typedIn, calib + typedIn->parentWidget()->metaObject()->className());
            const QString expected = calib + typedIn->parentWidget()->metaObject()->className();
            QCOMPARE(QString::fromStdString(store->plan().calib), expected);
            for (QLineEdit* e : calibs)
                QCOMPARE(e->text(), expected);
        }
        evals[1]->setText(eval);
        QCOMPARE(QString::fromStdString(store->plan().eval_text), eval);
        for (QLineEdit* e : evals)
            QCOMPARE(e->text(), eval);
        // a loaded plan's texts reach every view; the Compress view runs with the store's plan
        CompressionPlan p = store->plan();
        p.calib = demoCalibText().toStdString();
        store->setPlan(p);
        for (QLineEdit* e : calibs)
            QCOMPARE(e->text(), demoCalibText());
        QCOMPARE(w_->compressView()->plan().eval_text, eval.toStdString());
        QCOMPARE(w_->compressView()->plan().toJson().value("calib").toString(), demoCalibText());
    }

    void evaluationMatchesCli()
    {
        EvalDock* eval = w_->evalDock();
        eval->textEdit()->setText(demoEvalText());
        eval->seqLenSpin()->setValue(256);
        StallMeter stalls;
        QTest::mouseClick(eval->runButton(), Qt::LeftButton);
        QVERIFY(!eval->runButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(eval->lastResult().ppl > 0, 120000);
        qInfo("longest UI-thread stall during the evaluation: %lld ms (target < 50 ms)", stalls.worstMs());
        const QJsonObject cli = cliJson({"eval", demoModelDir(), "--text", demoEvalText(), "--seq-len", "256", "--json"});
        QVERIFY(testdata::relErr(eval->lastResult().ppl, cli.value("ppl").toDouble()) < testdata::kSameComputation);
        const double golden = testdata::golden("tinystories-12L").value("eval_ppl_L256").toObject().value("ppl").toDouble();
        QVERIFY(testdata::relErr(eval->lastResult().ppl, golden) < 1e-4);
        QVERIFY(eval->resultLabel()->text().contains(QString::number(eval->lastResult().ppl, 'f', 4)));
        QTRY_VERIFY(eval->runButton()->isEnabled());
        saveShot(w_.get(), "workbench.png");
    }

    void blocksScanMarkAndEvaluate()
    {
        BlocksView* v = w_->blocksView();
        v->setMarkedBlocks({}); // the click below marks block 6 alone
        StallMeter stalls;
        QSignalSpy done(v, &BlocksView::scanFinished);
        QTest::mouseClick(v->scanButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, 120000);
        qInfo("longest UI-thread stall during the block scan: %lld ms", stalls.worstMs());
        const auto ppl = testdata::toDoubles(testdata::golden("tinystories-12L").value("ppl_drop"));
        const auto& r = v->result();
        QCOMPARE(r.blocks.size(), ppl.size());
        for (std::size_t i = 0; i < ppl.size(); ++i)
            QVERIFY(testdata::relErr(r.blocks[i].ppl, ppl[i]) < 1e-3);
        QVERIFY(r.blocks[0].excluded && r.blocks[11].excluded && !r.blocks[5].excluded);
        QVERIFY(v->plot(Criterion::Ppl)->hoverText(5).startsWith("5: "));

        // mark block 6 by clicking its bar in the Block Influence chart, then unmark-mark via the table
        PlotView* bi = v->plot(Criterion::Bi);
        QTest::mouseClick(bi->canvas(), Qt::LeftButton, {}, bi->barCenter(6));
        QCOMPARE(v->markedBlocks(), std::set<int>({6}));
        // #27: the table's Drop boxes are the store's blocks to drop; setData
        // takes a check state and nothing else
        QAbstractItemModel* table = v->table()->model();
        int row3 = -1;
        for (int r = 0; r < table->rowCount(); ++r)
            if (table->index(r, BlockImportanceModel::Block).data(Qt::UserRole).toInt() == 3)
                row3 = r;
        QVERIFY(row3 >= 0);
        const QModelIndex drop3 = table->index(row3, BlockImportanceModel::Drop);
        QVERIFY(table->setData(drop3, Qt::Checked, Qt::CheckStateRole));
        QCOMPARE(w_->planStore()->plan().drop_blocks, (std::vector<int>{3, 6}));
        QVERIFY(!table->setData(drop3, QStringLiteral("yes"), Qt::CheckStateRole));
        QVERIFY(!table->setData(drop3, 7, Qt::CheckStateRole));
        QCOMPARE(w_->planStore()->plan().drop_blocks, (std::vector<int>{3, 6}));
        w_->planStore()->setDropBlocks({6}); // the store's change is the table's
        QCOMPARE(drop3.data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
        QSignalSpy evaluated(v, &BlocksView::selectionEvaluated);
        QVERIFY(v->evaluateButton()->isEnabled());
        QTest::mouseClick(v->evaluateButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(evaluated.count() == 1, 120000);
        const QJsonObject cli = cliJson({"drop", demoModelDir(), "--blocks", "6", "--text", demoEvalText(), "--seq-len", "256", "--json"});
        QVERIFY(testdata::relErr(v->selectionEvalPpl(), cli.value("ppl").toDouble()) < testdata::kSameComputation);
        const double golden = testdata::toDoubles(testdata::golden("tinystories-12L").value("eval_ppl_L256_drop"))[6];
        QVERIFY(testdata::relErr(v->selectionEvalPpl(), golden) < 1e-4);
        QVERIFY(v->selectionTable()->item(1, 1)->text().startsWith(QString::number(golden, 'f', 3)));
        // KLD and top-1 agreement beside the perplexity, as tailor-cli eval --base computes them
        const QJsonObject kld = cliJson({"eval", demoModelDir(), "--drop", "6", "--base", demoModelDir(), "--text", demoEvalText(),
                                         "--seq-len", "256", "--json"});
        QVERIFY2(testdata::relErr(v->selectionKld(), kld.value("kld_mean").toDouble()) < testdata::kSameComputation,
                 qPrintable(QString("%1 vs %2").arg(v->selectionKld()).arg(kld.value("kld_mean").toDouble())));
        QVERIFY(v->selectionTable()->item(2, 1)->text().startsWith(QString::number(kld.value("kld_mean").toDouble(), 'g', 4)));
        QVERIFY(v->selectionTable()->item(3, 1)->text().startsWith(QString::number(100 * kld.value("top1_agreement").toDouble(), 'f', 2)));
        w_->blocksView()->setFocus();
        saveShot(w_.get(), "blocks-view.png");

        // the scores are cached on disk: reopening the model shows them at once
        w_->openModel(demoModelDir());
        QTRY_VERIFY_WITH_TIMEOUT(v->showingCachedResult(), 30000);
        QCOMPARE(v->result().blocks.size(), std::size_t(12));
        QVERIFY(testdata::relErr(v->result().blocks[6].ppl, ppl[6]) < 1e-3);
    }

    // #5: select a layer, change the bits, see histogram and range lines update.
    void quantizationView()
    {
        QuantView* q = w_->quantView();
        w_->tabs()->setCurrentWidget(q);
        q->formatBox()->setCurrentIndex(0); // linear, 4 bits (what another test may have changed)
        q->bitsSpin()->setValue(4);
        QCOMPARE(QString::fromStdString(q->scheme().name()), QString("int4_sym_g32"));
        QTRY_VERIFY_WITH_TIMEOUT(q->report().scheme == "int4_sym_g32" && !w_->jobs()->busy(), 60000);
        const QString layer = "model.layers.1.self_attn.q_proj.weight";
        QSignalSpy hist(q, &QuantView::histogramReady);
        q->selectLayer(layer);
        QTRY_VERIFY_WITH_TIMEOUT(q->selectedLayer() == layer && hist.count() >= 1 && q->lastHistogram().levels.size() == 16, 60000);
        const QJsonObject g = testdata::golden("tinystories-12L").value("quant_" + layer).toObject().value("int4_sym_g32").toObject();
        for (const auto& l : q->report().layers)
            if (QString::fromStdString(l.name) == layer)
                QVERIFY(testdata::relErr(l.mse, g.value("mse").toDouble()) < 1e-4);
        const double hi4 = q->lastHistogram().clip_hi;
        QCOMPARE(q->histogramPlot()->verticalLineCount(), 2 + 16);
        hist.clear();
        QSignalSpy report(q, &QuantView::reportReady);
        q->bitsSpin()->setValue(3);
        QTRY_VERIFY_WITH_TIMEOUT(report.count() >= 1 && hist.count() >= 1 && q->lastHistogram().levels.size() == 8, 60000);
        QCOMPARE(QString::fromStdString(q->scheme().name()), QString("int3_sym_g32"));
        QCOMPARE(q->histogramPlot()->verticalLineCount(), 2 + 8);
        // same widest group: its range is (qmax+1)·s on each side, s grows as bits fall
        QVERIFY(std::abs(q->lastHistogram().clip_hi - hi4) > 1e-9);
        QVERIFY(q->lastHistogram().clip_lo < 0 && q->lastHistogram().clip_hi > 0);
        saveShot(w_.get(), "quantization-view.png");
        // a llama.cpp type: the report and the histogram come from its own quantizer,
        // the range lines are the stored sub-block scales (Q5_1: codes 0..31 per block of 32)
        report.clear();
        hist.clear();
        q->formatBox()->setCurrentText("q5_1");
        QTRY_VERIFY_WITH_TIMEOUT(report.count() >= 1 && hist.count() >= 1 && q->lastHistogram().levels.size() == 32, 60000);
        QCOMPARE(QString::fromStdString(q->scheme().name()), QString("q5_1"));
        QVERIFY(!q->bitsSpin()->isEnabled());
        saveShot(w_.get(), "quantization-view-q5_1.png");

        // #16: the heat map's KLD metric: each layer quantized alone, measured in the background;
        // one cell against the plain path (the whole model with that layer quantized, compareToBase)
        QSignalSpy kld(q, &QuantView::kldReady);
        q->heatmapMetric()->setCurrentIndex(3);
        QTRY_VERIFY_WITH_TIMEOUT(kld.count() == 1, 120000);
        QVERIFY(q->heatmapPlot()->placeholder().isEmpty());
        const auto session = w_->session();
        const std::string down11 = "model.layers.11.mlp.down_proj.weight";
        const auto one = quantizedByScheme(session->model(), SchemeByTensor{{down11, QuantScheme::parse("q5_1")}}, nullptr);
        const FidelityResult f = compareToBase(session->model(), *one, session->calibration(demoCalibText().toStdString()), {});
        QVERIFY2(testdata::relErr(q->kldAlone(down11), f.kld_mean) < testdata::kSameComputation,
                 qPrintable(QString("%1 vs %2").arg(q->kldAlone(down11)).arg(f.kld_mean)));
        saveShot(w_.get(), "quantization-view-kld.png");
        q->heatmapMetric()->setCurrentIndex(0);
        w_->tabs()->setCurrentIndex(0);
    }

    // #18: the Width view scores heads and channels in the background, shows
    // the cut a count removes (GQA-breaking counts refused), evaluates it and
    // writes a plan with the width stage that the engine accepts.
    void widthView()
    {
        WidthView* v = w_->widthView();
        w_->tabs()->setCurrentWidget(v);
        QVERIFY(v->headsSpin()->singleStep() == 2); // 4 heads in 2 KV groups
        v->criterionBox()->setCurrentText("taylor");
        QSignalSpy scored(v, &WidthView::scored);
        QTest::mouseClick(v->scoreButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(scored.count() == 1, 120000);
        v->headsSpin()->setValue(2);
        v->channelsSpin()->setValue(56);
        QVERIFY(v->plan().has_value());
        QVERIFY2(v->summary()->text().contains("25.0 % of the block parameters"), qPrintable(v->summary()->text()));
        QCOMPARE(int(v->plan()->groups[0].size()), 1);
        QCOMPARE(int(v->plan()->channels[7].size()), 56);
        QSignalSpy evaluated(v, &WidthView::evaluated);
        QTest::mouseClick(v->evaluateButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(evaluated.count() == 1, 120000);
        QVERIFY2(v->evaluation()->text().contains("after the cut"), qPrintable(v->evaluation()->text()));
        saveShot(w_.get(), "width-view.png");
        QTemporaryDir tmp;
        const QString plan = tmp.filePath("width.json");
        v->savePlan(plan);
        const CompressionPlan p = CompressionPlan::fromFile(plan.toStdString());
        QVERIFY(p.width.has_value());
        QCOMPARE(p.width->channels, v->plan()->channels);
        QCOMPARE(p.width_criterion, std::string("taylor"));
        // "Use in plan": the cut becomes the plan store's width stage, shown on the Compress page
        QTest::mouseClick(v->useInPlanButton(), Qt::LeftButton);
        PlanStore* store = w_->planStore();
        QVERIFY(store->plan().width.has_value());
        QCOMPARE(store->plan().width->channels, v->plan()->channels);
        CompressView* c = w_->compressView();
        QVERIFY2(c->widthLabel()->text() == "12 KV groups and 672 MLP channels removed (uniform, by taylor)", qPrintable(c->widthLabel()->text()));
        QVERIFY2(c->prediction()->text().contains("Predicted"), qPrintable(c->prediction()->text()));
        QCOMPARE(c->plan().width->groups, v->plan()->groups);
        c->clearWidthButton()->click(); // (the Compress page is not the visible tab)
        QVERIFY(!store->plan().width.has_value() && !c->plan().width.has_value());
        QCOMPARE(c->widthLabel()->text(), QString("none"));
        // per block by importance: as many units in all, blocks of different widths
        v->perBlockCheck()->setChecked(true);
        QVERIFY(v->plan().has_value() && !v->plan()->uniform());
        std::size_t channels = 0;
        for (const auto& c : v->plan()->channels)
            channels += c.size();
        QCOMPARE(channels, std::size_t(12 * 56));
        QVERIFY2(v->summary()->text().contains("export as GGUF"), qPrintable(v->summary()->text()));
        saveShot(w_.get(), "width-view-per-block.png");
        v->perBlockCheck()->setChecked(false);
        QVERIFY(v->plan()->uniform());
        v->headsSpin()->setValue(1); // typed in: not a whole KV group
        QVERIFY(!v->plan().has_value());
        QVERIFY2(v->summary()->text().contains("breaks the GQA grouping"), qPrintable(v->summary()->text()));
        QVERIFY(!v->evaluateButton()->isEnabled());
        v->headsSpin()->setValue(0);
        v->channelsSpin()->setValue(0);
        w_->tabs()->setCurrentIndex(0);
    }

    // #6: the rank slider changes the energy and parameter figures.
    void lowRankView()
    {
        LowRankView* v = w_->lowRankView();
        w_->tabs()->setCurrentWidget(v);
        QTRY_VERIFY_WITH_TIMEOUT(v->spectra().size() == 84, 60000);
        v->setRanks({}); // every layer at full rank to begin with
        const QString layer = "model.layers.1.mlp.gate_proj.weight";
        v->layerBox()->setCurrentText(layer);
        const auto want = testdata::toDoubles(testdata::golden("tinystories-12L").value("svdvals_" + layer));
        const auto& got = v->spectra()[std::size_t(v->layerBox()->currentIndex())].singular_values;
        QCOMPARE(got.size(), want.size());
        QVERIFY(testdata::relErr(got[0], want[0]) < 1e-4);
        auto energyText = [&](int k) {
            double total = 0, top = 0;
            for (std::size_t i = 0; i < want.size(); ++i) {
                total += want[i] * want[i];
                if (int(i) < k)
                    top += want[i] * want[i];
            }
            return QString::number(100 * top / total, 'f', 2) + " %";
        };
        QTest::keyClick(v->rankSlider(), Qt::Key_Home);
        QCOMPARE(v->rankSlider()->value(), 1);
        QVERIFY2(v->figures()->text().contains(energyText(1)), qPrintable(v->figures()->text()));
        for (int i = 0; i < 40; ++i)
            QTest::keyClick(v->rankSlider(), Qt::Key_Right);
        QCOMPARE(v->rankSlider()->value(), 41);
        QVERIFY2(v->figures()->text().contains(energyText(41)), qPrintable(v->figures()->text()));
        // 352 x 128 at rank 41: 41 * 480 parameters instead of 45056
        QVERIFY(v->figures()->text().contains("45056 → 19680"));
        RanksModel* ranks = v->ranksModel();
        QCOMPARE(v->rankTable()->model(), static_cast<QAbstractItemModel*>(ranks));
        const int row = ranks->rowOf(layer.toStdString());
        QCOMPARE(v->layerBox()->currentIndex(), row);
        QCOMPARE(ranks->rankOf(row), int64_t(41));
        QCOMPARE(v->ranks().at(layer.toStdString()), int64_t(41));

        // overlay: this layer stays in the plot while another is selected
        QCOMPARE(v->spectrumPlot()->curveCount(), 1);
        QTest::mouseClick(v->overlayButton(), Qt::LeftButton);
        v->layerBox()->setCurrentText("model.layers.1.mlp.down_proj.weight");
        QCOMPARE(v->spectrumPlot()->curveCount(), 2);

        // a rank typed into the table is the layer's rank; out of range is
        // refused by the model's setData and said
        const std::string q0 = "model.layers.0.self_attn.q_proj.weight";
        QCOMPARE(ranks->rowOf(q0), 0);
        QSignalSpy refused(ranks, &RanksModel::refused);
        typeIntoCell(v->rankTable(), ranks->index(0, RanksModel::Rank), "0");
        QCOMPARE(refused.count(), 1);
        QVERIFY2(refused.at(0).at(0).toString().contains("must be an integer from 1 to 128"), qPrintable(refused.at(0).at(0).toString()));
        QVERIFY(!v->ranks().count(q0));
        typeIntoCell(v->rankTable(), ranks->index(0, RanksModel::Rank), "12.5");
        QCOMPARE(refused.count(), 2);
        QVERIFY(!v->ranks().count(q0));
        typeIntoCell(v->rankTable(), ranks->index(0, RanksModel::Rank), "10");
        QCOMPARE(refused.count(), 2);
        QCOMPARE(v->ranks().at(q0), int64_t(10));
        // #27: the table edits the store's ranks; the view has no copy of its own
        QVERIFY(&v->ranks() == &w_->planStore()->plan().ranks);
        QCOMPARE(w_->planStore()->plan().ranks.at(q0), int64_t(10));
        QCOMPARE(v->layerBox()->currentText(), QString::fromStdString(q0));
        QCOMPARE(v->rankSlider()->value(), 10);

        // every layer by budget: k = floor(b * mn / (m + n)), computed here independently
        v->budgetSpin()->setValue(0.6);
        QTest::mouseClick(v->budgetButton(), Qt::LeftButton);
        QCOMPARE(v->ranks().size(), std::size_t(84));
        for (const auto& s : v->spectra())
            QCOMPARE(v->ranks().at(s.name), int64_t(std::floor(0.6 * double(s.rows * s.cols) / double(s.rows + s.cols))));
        QTemporaryDir tmp;
        const QString ranksFile = tmp.filePath("ranks.json");
        v->saveRanks(ranksFile);
        QFile f(ranksFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(f.readAll()).object().size(), 84);

        // evaluate (whitened) in the background; equals tailor-cli lowrank with the saved ranks
        v->whitenBox()->setChecked(false);
        QVERIFY(!w_->planStore()->plan().whiten); // one whitening choice, the store's
        v->whitenBox()->setChecked(true);
        QVERIFY(w_->planStore()->plan().whiten);
        QSignalSpy evaluated(v, &LowRankView::evaluated);
        QTest::mouseClick(v->evaluateButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(evaluated.count() == 1, 300000);
        const QJsonObject cli = cliJson({"lowrank", demoModelDir(), "--calib", demoCalibText(), "--ranks", ranksFile, "--whiten", "--json"});
        QVERIFY(cli.contains("calib_ppl"));
        QVERIFY2(testdata::relErr(v->lastCalibPpl(), cli["calib_ppl"].toDouble()) < 1e-6,
                 qPrintable(QString("%1 vs %2").arg(v->lastCalibPpl()).arg(cli["calib_ppl"].toDouble())));
        QVERIFY(v->evaluation()->text().contains(QString::number(v->lastCalibPpl(), 'f', 4)));

        // spectra are cached on disk per layer, so reopening shows them at once: every
        // layer of this model has its file (other models' files may be there too)
        const QString model = QFileInfo(QString::fromStdString(w_->session()->dir())).absoluteFilePath();
        QSet<QString> cached;
        for (const QFileInfo& fi : QDir(cacheDir_.path()).entryInfoList({"spectra-*.json"})) {
            QFile file(fi.filePath());
            QVERIFY(file.open(QIODevice::ReadOnly));
            const QJsonObject key = QJsonDocument::fromJson(file.readAll()).object().value("key").toObject();
            if (key.value("model").toString() == model)
                cached.insert(key.value("layer").toString());
        }
        QCOMPARE(cached.size(), 84);
        for (const auto& s : v->spectra())
            QVERIFY(cached.contains(QString::fromStdString(s.name)));

        // #14: ranks that come with a loaded plan are the view's ranks, shown in its table
        const CompressionPlan before = w_->planStore()->plan();
        QCOMPARE(before.ranks, v->ranks());
        CompressionPlan loaded = before;
        loaded.ranks = {{q0, 12}};
        w_->planStore()->setPlan(loaded);
        QCOMPARE(v->ranks(), loaded.ranks);
        // the table the user edits and the loaded plan's ranks are one model over the store
        QCOMPARE(v->rankTable()->model(), static_cast<QAbstractItemModel*>(ranks));
        QCOMPARE(ranks->rankOf(0), int64_t(12));
        QCOMPARE(ranks->data(ranks->index(0, RanksModel::Rank), Qt::DisplayRole).toString(), QString("12"));
        QCOMPARE(ranks->data(ranks->index(1, RanksModel::Rank), Qt::DisplayRole).toString(), QString()); // full rank
        w_->planStore()->setPlan(before);
        QCOMPARE(v->ranks(), before.ranks);
        saveShot(w_.get(), "lowrank-view.png");
        w_->tabs()->setCurrentIndex(0);
    }

    // #7: the plan is built from the views, run (with healing), compared with
    // tailor-cli compress on the same plan, exported and reopened; the prompt
    // box shows both continuations.
    void compressView()
    {
        // the choices this test runs with, made in their views: block 6 marked
        // in Blocks, ranks by a 0.6 budget in Low rank
        w_->blocksView()->setMarkedBlocks({6});
        LowRankView* lr = w_->lowRankView();
        w_->tabs()->setCurrentWidget(lr);
        QTRY_VERIFY_WITH_TIMEOUT(lr->spectra().size() == 84, 120000);
        lr->budgetSpin()->setValue(0.6);
        lr->budgetButton()->click();
        CompressView* v = w_->compressView();
        w_->tabs()->setCurrentWidget(v);
        // #14: one plan store. The blocks marked in Blocks and the ranks of Low rank are
        // already the plan; the Quantization view's scheme joins it with "Use in plan",
        // act-order included.
        QuantView* q = w_->quantView();
        q->methodBox()->setCurrentIndex(2); // GPTQ, act-order
        q->useInPlanButton()->click();      // (the Quantization view is not the visible tab)
        QVERIFY(v->plan().quant.has_value());
        QVERIFY(v->plan().quant->method == QuantMethod::Gptq && v->plan().quant->act_order);
        QCOMPARE(v->methodBox()->currentText(), QString("gptq, act-order"));
        q->methodBox()->setCurrentIndex(0);
        q->useInPlanButton()->click();
        QVERIFY(v->plan().quant->method == QuantMethod::Rtn && !v->plan().quant->act_order);
        const std::set<int> marked = w_->blocksView()->markedBlocks();
        QVERIFY(!marked.empty());
        QCOMPARE(v->plan().drop_blocks, std::vector<int>(marked.begin(), marked.end()));
        QVERIFY(!w_->lowRankView()->ranks().empty());
        QCOMPARE(v->plan().ranks, w_->lowRankView()->ranks());
        QCOMPARE(v->plan().quant->scheme.name(), q->scheme().name());
        // blocks typed on the Compress page are the Blocks view's marks, and back
        const QString typed = v->dropEdit()->text();
        v->dropEdit()->setText("1, 2");
        QCOMPARE(w_->blocksView()->markedBlocks(), (std::set<int>{1, 2}));
        w_->blocksView()->setMarkedBlocks(marked);
        QCOMPARE(v->dropEdit()->text(), typed);
        QCOMPARE(w_->planStore()->plan().drop_blocks, std::vector<int>(marked.begin(), marked.end()));
        QVERIFY(v->prediction()->text().contains("Predicted"));
        v->healBox()->setChecked(true);
        v->healSteps()->setValue(20);
        // each stage's multiple-choice accuracy on the first 16 items of the shipped task; stages
        // judged on the first 30 paragraphs of the evaluation text (the GUI, the CLI and the
        // reopened export all on that text: the test is about their agreement)
        QTemporaryDir taskDir;
        {
            QFile src(resourcesDir() + "/data/tinystories-next-sentence.jsonl"), dst(taskDir.filePath("task.jsonl"));
            QVERIFY(src.open(QIODevice::ReadOnly) && dst.open(QIODevice::WriteOnly));
            for (int i = 0; i < 16; ++i)
                dst.write(src.readLine());
            QFile text(demoEvalText()), part(taskDir.filePath("eval.txt"));
            QVERIFY(text.open(QIODevice::ReadOnly) && part.open(QIODevice::WriteOnly));
            for (int i = 0; i < 30; ++i)
                part.write(text.readLine());
        }
        const QString evalText = taskDir.filePath("eval.txt");
        v->evalTextEdit()->setText(evalText);
        const auto restore = qScopeGuard([v] { v->evalTextEdit()->setText(demoEvalText()); v->taskFile()->clear(); });
        v->taskFile()->setText(taskDir.filePath("task.jsonl"));
        QSignalSpy finished(v, &CompressView::runFinished);
        QTest::mouseClick(v->runButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 300000);
        QCOMPARE(v->stagesTable()->rowCount(), 5);
        QCOMPARE(v->stagesTable()->item(3, 0)->text(), QString("heal"));
        // KLD from the dense model and top-1 agreement beside the PPL (#16)
        QCOMPARE(v->stagesTable()->item(0, 2)->text(), QString("0.0000"));
        QCOMPARE(v->stagesTable()->item(0, 3)->text(), QString("100.00 %"));
        QVERIFY(v->applied()->stages[1].kld_mean > 0 && v->applied()->stages[1].top1_agreement < 1);
        QCOMPARE(v->stagesTable()->item(1, 2)->text(), QString::number(v->applied()->stages[1].kld_mean, 'f', 4));
        const QJsonObject denseTask = cliJson({"tasks", demoModelDir(), "--task", taskDir.filePath("task.jsonl"), "--json"});
        QCOMPARE(v->applied()->stages[0].task_acc, denseTask["acc"].toDouble());
        for (int r = 0; r < 5; ++r)
            QVERIFY2(v->stagesTable()->item(r, 4)->text().contains(" ± "), qPrintable(v->stagesTable()->item(r, 4)->text()));
        v->taskFile()->clear();
        QCOMPARE(v->healPoints(), 20);
        QCOMPARE(v->healPlot()->curveCount(), 3); // #31: the loss per step, its moving average and the evaluation loss before and after
        // the prediction before the run counted the parameters the run ends with
        QVERIFY2(v->prediction()->text().contains(QString("→ %1 parameters").arg(v->applied()->stages.back().parameters)),
                 qPrintable(v->prediction()->text() + QString(" / applied %1").arg(v->applied()->stages.back().parameters)));

        QTemporaryDir tmp;
        const QString planFile = tmp.filePath("plan.json");
        v->plan().save(planFile.toStdString());
        const QJsonObject cli = cliJson({"compress", "--plan", planFile, "--out", tmp.filePath("cli"), "--text", evalText, "--json"});
        const QJsonArray stages = cli["stages"].toArray();
        QCOMPARE(stages.size(), 5);
        for (int i = 0; i < 5; ++i) {
            const double gui = v->applied()->stages[std::size_t(i)].ppl, ref = stages[i].toObject()["ppl"].toDouble();
            QVERIFY2(testdata::relErr(gui, ref) < (i < 3 ? testdata::kSameComputation : 1e-4), qPrintable(QString("stage %1: %2 vs %3").arg(i).arg(gui).arg(ref)));
            if (i > 0 && i < 3) // the same drift from the CLI
                QVERIFY(testdata::relErr(v->applied()->stages[std::size_t(i)].kld_mean, stages[i].toObject()["kld_mean"].toDouble()) < 1e-6);
        }

        QSignalSpy exported(v, &CompressView::exported);
        const QString out = tmp.filePath("hf");
        v->exportTo(out, "hf", "F32", false);
        QTRY_VERIFY_WITH_TIMEOUT(exported.count() == 1, 120000);
        QVERIFY(QFileInfo::exists(out + ".report/report.md"));
        QVERIFY(QFileInfo::exists(out + ".report/heal.png"));
        const auto reopened = ModelSession::open(out.toStdString());
        EvalOptions ev;
        ev.seq_len = 256;
        const double again = evaluatePerplexity(reopened->model(), reopened->tokenizeFile(evalText.toStdString()), ev).ppl;
        QVERIFY2(testdata::relErr(again, v->applied()->stages.back().ppl) < 1e-5, qPrintable(QString::number(again)));

        QSignalSpy samples(v, &CompressView::samplesReady);
        QTest::mouseClick(v->generateButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(samples.count() == 1, 60000);
        QVERIFY(v->denseText()->toPlainText().startsWith("Once upon a time"));
        QVERIFY(v->compressedText()->toPlainText().startsWith("Once upon a time"));
        // speeds from repeated runs: median, spread, bytes a token, roofline
        QVERIFY2(v->denseSpeed()->text().contains("tokens/s (") && v->denseSpeed()->text().contains("roofline"),
                 qPrintable(v->denseSpeed()->text()));
        QVERIFY(v->compressedSpeed()->text().contains("the dense decode"));
        // #31: the healed model (fp32 merges) is timed as an export stores it, and says so
        QVERIFY2(v->compressedSpeed()->text().contains("weights in BF16 as an HF export stores them"), qPrintable(v->compressedSpeed()->text()));
        saveShot(w_.get(), "compress-view.png");

        // cancelling during healing keeps the finished steps: the run still ends with a model
        v->healSteps()->setValue(5000);
        QTest::mouseClick(v->runButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(v->healPoints() >= 3, 120000);
        w_->jobs()->cancelAll();
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 2, 60000);
        QVERIFY(v->applied()->heal_cancelled);
        QCOMPARE(v->applied()->stages.back().stage, std::string("heal"));
        QVERIFY(v->applied()->heal_curve.size() >= 3 && v->applied()->heal_curve.size() < 5000);
        QVERIFY(v->generateButton()->isEnabled());
        w_->tabs()->setCurrentIndex(0);
    }

    // #27: one pipeline. The same plan, run and exported from the Compress
    // view and from tailor-cli compress, gives byte-identical files and the
    // same report (what is computed; speeds are measured and differ).
    void guiAndCliExportAlike()
    {
        QTemporaryDir tmp;
        const QString evalText = tmp.filePath("eval.txt");
        {
            QFile text(demoEvalText()), part(evalText);
            QVERIFY(text.open(QIODevice::ReadOnly) && part.open(QIODevice::WriteOnly));
            for (int i = 0; i < 20; ++i)
                part.write(text.readLine());
        }
        CompressView* v = w_->compressView();
        CompressionPlan p = w_->planStore()->plan();
        p.drop_blocks = {6};
        p.ranks.clear();
        p.quant.reset();
        p.width.reset();
        p.heal.reset();
        p.task.clear();
        p.eval_text = evalText.toStdString();
        p.gguf = PlanGguf{"q4_k_m", "", {"attn_v=q8_0"}};
        v->setPlan(p);
        QCOMPARE(w_->planStore()->plan().eval_text, evalText.toStdString());
        QSignalSpy finished(v, &CompressView::runFinished), exported(v, &CompressView::exported);
        // (a click reaches only a shown button: run alone, this test starts on the first tab)
        w_->tabs()->setCurrentWidget(v);
        QTest::mouseClick(v->runButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 300000);
        v->exportTo(tmp.filePath("gui.gguf"), "gguf", "", false);
        QTRY_VERIFY_WITH_TIMEOUT(exported.count() == 1, 120000);
        v->exportTo(tmp.filePath("gui-hf"), "hf", "", false);
        QTRY_VERIFY_WITH_TIMEOUT(exported.count() == 2, 120000);

        const QString planFile = tmp.filePath("plan.json");
        v->plan().save(planFile.toStdString());
        const QJsonObject g = cliJson({"compress", "--plan", planFile, "--out", tmp.filePath("cli.gguf"), "--format", "gguf", "--report",
                                       tmp.filePath("cli.gguf.report"), "--json"});
        QVERIFY(g.contains("stages"));
        const QJsonObject h = cliJson({"compress", "--plan", planFile, "--out", tmp.filePath("cli-hf"), "--report", tmp.filePath("cli-hf.report"), "--json"});
        QVERIFY(h.contains("stages"));

        const QByteArray gguf = fileBytes(tmp.filePath("gui.gguf"));
        QVERIFY(gguf.size() > 100000);
        QVERIFY2(gguf == fileBytes(tmp.filePath("cli.gguf")), "the GUI's GGUF differs from the CLI's");
        const QStringList files = QDir(tmp.filePath("gui-hf")).entryList(QDir::Files);
        QVERIFY(files.contains("config.json") && files.contains("README.md"));
        QCOMPARE(QDir(tmp.filePath("cli-hf")).entryList(QDir::Files), files);
        // (the model card's title names the folder and its date the moment of export)
        const auto comparable = [](const QString& name, QByteArray bytes) {
            if (name != "README.md")
                return bytes;
            QList<QByteArray> lines = bytes.split('\n');
            lines.removeIf([](const QByteArray& l) { return l.startsWith("# ") || l.startsWith("- exported: "); });
            return lines.join('\n');
        };
        for (const QString& f : files)
            QVERIFY2(comparable(f, fileBytes(tmp.filePath("gui-hf/" + f))) == comparable(f, fileBytes(tmp.filePath("cli-hf/" + f))),
                     qPrintable(f + " differs"));
        for (const QString& out : {QString("gguf"), QString("-hf")}) {
            const QString gui = tmp.filePath((out == "gguf" ? "gui." : "gui") + out + ".report/report.json");
            const QString cli = tmp.filePath((out == "gguf" ? "cli." : "cli") + out + ".report/report.json");
            const QJsonObject a = QJsonDocument::fromJson(fileBytes(gui)).object(), b = QJsonDocument::fromJson(fileBytes(cli)).object();
            QVERIFY2(!a.isEmpty() && !b.isEmpty(), qPrintable(gui));
            const QString d = reportDifference(a, b, "report", testdata::kSameComputation);
            QVERIFY2(d.isEmpty(), qPrintable(d));
        }
    }

    void cancelKeepsFinishedBlocks()
    {
        BlocksView* v = w_->blocksView();
        QTest::mouseClick(v->scanButton(), Qt::LeftButton);
        QPushButton* cancel = w_->jobDock()->cancelButton();
        QTRY_VERIFY_WITH_TIMEOUT(cancel->isEnabled() && w_->jobDock()->progressBar()->value() > 150, 60000);
        QTest::mouseClick(cancel, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(v->scanButton()->isEnabled(), 60000);
        QVERIFY(!w_->jobs()->busy());
    }

    // A scan of Block Influence alone: the other charts say they were not computed.
    void uncomputedCriteriaSaySo()
    {
        BlocksView* v = w_->blocksView();
        QTRY_VERIFY_WITH_TIMEOUT(v->scanButton()->isEnabled(), 60000);
        for (QCheckBox* box : v->findChildren<QCheckBox*>())
            if (box->text() == "PPL" || box->text() == "Taylor")
                box->setChecked(false);
        QSignalSpy done(v, &BlocksView::scanFinished);
        QTest::mouseClick(v->scanButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, 60000);
        QVERIFY(v->plot(Criterion::Ppl)->placeholder().startsWith("Not computed"));
        QVERIFY(v->plot(Criterion::Taylor)->placeholder().startsWith("Not computed"));
        QVERIFY(v->plot(Criterion::Bi)->placeholder().isEmpty());
        QCOMPARE(v->plot(Criterion::Bi)->barCount(), 12);
        for (QCheckBox* box : v->findChildren<QCheckBox*>())
            box->setChecked(true);
    }

    // #13: every job has an end that gives the controls back, superseded work
    // is cancelled, and short jobs do not wait behind a long one.
    void jobsEndForEveryOutcome()
    {
        JobRunner* jobs = w_->jobs();
        QTRY_VERIFY_WITH_TIMEOUT(!jobs->busy(), 120000);
        QStringList cancelled, finished, started;
        QObject scope; // the connections end with this function (they capture its locals)
        connect(jobs, &JobRunner::jobCancelled, &scope, [&](int, const QString& t) { cancelled << t; });
        connect(jobs, &JobRunner::jobFinished, &scope, [&](int, const QString& t, double) { finished << t; });
        connect(jobs, &JobRunner::jobStarted, &scope, [&](int, const QString& t) { started << t; });

        // a quantization setting changed twice quickly: the first report is
        // cancelled, one runs to the end
        QuantView* q = w_->quantView();
        w_->tabs()->setCurrentWidget(q);
        QTRY_VERIFY_WITH_TIMEOUT(!jobs->busy() && !q->report().layers.empty(), 120000);
        if (q->formatBox()->currentIndex() != 0) { // a linear scheme, whatever an earlier test left
            QSignalSpy linear(q, &QuantView::reportReady);
            q->formatBox()->setCurrentIndex(0);
            QTRY_VERIFY_WITH_TIMEOUT(linear.count() >= 1 && !jobs->busy(), 120000);
        }
        cancelled.clear();
        finished.clear();
        QSignalSpy report(q, &QuantView::reportReady);
        started.clear();
        q->bitsSpin()->setValue(q->bitsSpin()->value() == 5 ? 6 : 5);
        QTRY_VERIFY_WITH_TIMEOUT(started.filter("Quantize").size() == 1, 30000); // the first report is running
        q->bitsSpin()->setValue(7);
        QTRY_VERIFY_WITH_TIMEOUT(cancelled.filter("Quantize").size() == 1, 30000);
        QCOMPARE(jobs->activeCount(JobLane::Long), 1); // only the new report is left
        QTRY_VERIFY_WITH_TIMEOUT(report.count() == 1 && !jobs->busy(), 120000);
        QCOMPARE(cancelled.filter("Quantize").size(), 1);
        QCOMPARE(finished.filter("Quantize").size(), 1);
        QCOMPARE(QString::fromStdString(q->report().scheme), QString("int7_sym_g32"));

        // a histogram while a scan runs: it does not wait for the scan
        BlocksView* b = w_->blocksView();
        QTest::mouseClick(b->scanButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!b->scanButton()->isEnabled(), 10000);
        QCOMPARE(w_->jobDock()->jobList()->count(), 1); // the Jobs dock lists it
        QSignalSpy hist(q, &QuantView::histogramReady);
        q->selectLayer("model.layers.2.mlp.up_proj.weight");
        QTRY_VERIFY_WITH_TIMEOUT(hist.count() == 1, 30000);
        QVERIFY2(!b->scanButton()->isEnabled(), "the histogram waited for the scan to end");
        // the scan is cancelled from the Jobs dock by selecting its row
        w_->jobDock()->jobList()->setCurrentRow(0);
        QTest::mouseClick(w_->jobDock()->cancelButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(b->scanButton()->isEnabled() && !jobs->busy(), 60000);
        QCOMPARE(w_->jobDock()->jobList()->count(), 0);

        // an export that fails gives Export back and says why
        CompressView* v = w_->compressView();
        w_->tabs()->setCurrentWidget(v);
        v->setPlan(CompressionPlan::fromJson(QJsonObject{{"model", demoModelDir()}, {"drop_blocks", QJsonArray{5}}}, "plan"));
        QSignalSpy ran(v, &CompressView::runFinished);
        QTest::mouseClick(v->runButton(), Qt::LeftButton);
        QTRY_VERIFY2_WITH_TIMEOUT(ran.count() == 1 && v->exportButton()->isEnabled(), qPrintable(v->summary()->text()), 120000);
        QTemporaryDir tmp;
        QString target;
        if (geteuid() == 0) { // root writes through file permissions: use a file system that refuses
            target = "/proc/self/tailor-export";
        } else {
            QVERIFY(QDir(tmp.path()).mkdir("ro"));
            QFile::setPermissions(tmp.filePath("ro"), QFile::ReadOwner | QFile::ExeOwner);
            target = tmp.filePath("ro/hf");
        }
        v->exportTo(target, "hf", "F32", false);
        QTRY_VERIFY_WITH_TIMEOUT(v->summary()->text().contains("Export failed"), 60000);
        QVERIFY(v->exportButton()->isEnabled());
        QVERIFY2(v->summary()->text().contains(QFileInfo(target).path()), qPrintable(v->summary()->text()));
        QVERIFY(!QFileInfo::exists(target));

        // a generation that fails (a prompt longer than the preview's 100 positions) gives Generate back
        QLineEdit* promptEdit = nullptr;
        for (QLineEdit* e : v->findChildren<QLineEdit*>())
            if (e->text() == "Once upon a time")
                promptEdit = e;
        QVERIFY(promptEdit);
        promptEdit->setText(QString("Once upon a time there was a dog. ").repeated(20));
        QTest::mouseClick(v->generateButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(v->compressedSpeed()->text().contains("Generation failed"), 60000);
        QVERIFY(v->compressedSpeed()->text().contains("no room to generate"));
        QVERIFY(v->generateButton()->isEnabled());
        promptEdit->setText("Once upon a time");
        saveShot(w_.get(), "compress-view-failed-export.png");
        w_->tabs()->setCurrentIndex(0);
    }

    // #18: the Compress view's Depth vs width page builds both arms at 25 % of
    // the block parameters (3 of 12 blocks; 1 of 2 KV groups and 56 of 352
    // channels per block), shows them beside the dense model, and the next
    // export's report carries the comparison.
    void depthVsWidth()
    {
        QTRY_VERIFY_WITH_TIMEOUT(!w_->jobs()->busy(), 120000);
        CompressView* v = w_->compressView();
        w_->tabs()->setCurrentWidget(v);
        DepthWidthPanel* d = v->depthWidthPanel();
        v->pages()->setCurrentWidget(d);
        QVERIFY(d->speedPlot()->placeholder() == "not computed");
        d->budgetSpin()->setValue(25);
        d->blockCriterion()->setCurrentText("bi");
        d->unitCriterion()->setCurrentText("magnitude");
        d->healBoth()->setChecked(false); // healing is the Compress view's own test; here the arms
        QTemporaryDir evalDir; // judged on the first 12 paragraphs of the evaluation text, to keep the test short
        {
            QFile src(demoEvalText()), dst(evalDir.filePath("eval.txt"));
            QVERIFY(src.open(QIODevice::ReadOnly) && dst.open(QIODevice::WriteOnly));
            for (int i = 0; i < 12; ++i)
                dst.write(src.readLine());
        }
        v->evalTextEdit()->setText(evalDir.filePath("eval.txt"));
        const auto restore = qScopeGuard([v] { v->evalTextEdit()->setText(demoEvalText()); });
        // the export at the end writes a run's model: a short run (one block dropped) first
        v->setPlan(CompressionPlan::fromJson(QJsonObject{{"model", demoModelDir()}, {"drop_blocks", QJsonArray{5}}}, "plan"));
        QSignalSpy ran(v, &CompressView::runFinished);
        v->runButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(ran.count() == 1 && v->exportButton()->isEnabled(), 120000);
        QSignalSpy compared(d, &DepthWidthPanel::compared);
        QTest::mouseClick(d->compareButton(), Qt::LeftButton);
        QVERIFY(!d->compareButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(compared.count() == 1, 600000);
        QTRY_VERIFY(d->compareButton()->isEnabled());
        const DepthWidthComparison& c = *d->comparison();
        QCOMPARE(int(c.arms.size()), 3);
        // the same budget, up to the dropped blocks' norms (width pruning keeps every norm)
        QCOMPARE(c.arms[2].result.parameters - c.arms[1].result.parameters, qint64(3 * 2 * 128));
        QCOMPARE(c.arms[1].block_share_removed, 0.25);
        QVERIFY(c.arms[1].result.kld_mean > 0 && c.arms[2].result.kld_mean > 0);
        for (const auto& a : c.arms)
            QVERIFY(a.speed.decode.median > 0);
        QVERIFY(d->table()->item(0, 1)->text().startsWith("3 blocks"));
        QVERIFY2(d->table()->item(0, 2)->text().contains("56 MLP channels"), qPrintable(d->table()->item(0, 2)->text()));
        QCOMPARE(d->table()->item(3, 1)->text(), QString::number(c.arms[1].result.kld_mean, 'f', 4));
        QCOMPARE(d->speedPlot()->barCount(), 3);
        QVERIFY2(d->summary()->text().contains("decodes"), qPrintable(d->summary()->text()));
        saveShot(w_.get(), "depth-vs-width.png");
        // the export's report includes it
        QTemporaryDir tmp;
        QSignalSpy exported(v, &CompressView::exported);
        v->exportTo(tmp.filePath("hf"), "hf", "F32", false);
        QTRY_VERIFY_WITH_TIMEOUT(exported.count() == 1, 120000);
        QFile md(tmp.filePath("hf") + ".report/report.md");
        QVERIFY(md.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(md.readAll());
        QVERIFY2(text.contains("## Depth against width at 25 % of the block parameters"), qPrintable(text.left(400)));
        QVERIFY(text.contains("| width |"));
        v->pages()->setCurrentIndex(0);
        w_->tabs()->setCurrentIndex(0);
    }

    // #16: a size budget in the Quantization view: the Pareto chart shows the
    // measured plans, the uniform types and the chosen plan; clicking the
    // chosen point makes it the plan's quantization in Compress & Export.
    void sizeBudget()
    {
        QTRY_VERIFY_WITH_TIMEOUT(!w_->jobs()->busy(), 120000);
        QuantView* q = w_->quantView();
        w_->tabs()->setCurrentWidget(q);
        BudgetPanel* b = q->budgetPanel();
        q->pages()->setCurrentWidget(b);
        b->targetKind()->setCurrentIndex(0);
        b->targetValue()->setValue(5.0);
        b->candidates()->setCurrentIndex(1); // llama.cpp types: q8_0 q5_1 q5_0 q4_1 iq4_nl q4_0 fit rows of 128 and 352
        b->evalWindows()->setValue(6);
        QVERIFY(b->paretoPlot()->placeholder() == "not computed");
        QSignalSpy ready(b, &BudgetPanel::resultReady);
        QTest::mouseClick(b->findButton(), Qt::LeftButton);
        QVERIFY(!b->findButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(ready.count() == 1, 300000);
        QTRY_VERIFY(b->findButton()->isEnabled());
        const BudgetResult& r = *b->result();
        QVERIFY(r.chosen.bits_per_weight <= 5.0 + 1e-9);
        QCOMPARE(int(r.references.size()), 6);
        QCOMPARE(int(r.frontier.size()), 7);
        QVERIFY(b->paretoPlot()->placeholder().isEmpty());
        QCOMPARE(b->paretoPlot()->curveCount(), 3);
        // the chosen plan against the uniform types of no larger size (q4_1 at 5.0 bits, q4_0 at 4.5)
        for (const auto& p : r.references)
            if (p.bits_per_weight <= r.chosen.bits_per_weight + 1e-9)
                QVERIFY2(r.chosen.measured.kld_mean < p.measured.kld_mean, p.label.c_str());
        QVERIFY2(b->summary()->text().contains("Best uniform scheme of no larger size"), qPrintable(b->summary()->text()));
        // #31: the chosen plan is named once, and the uniform schemes' labels do not overlap
        QVERIFY2(b->summary()->text().startsWith("Chosen plan: ") && !b->summary()->text().contains("chosen:"),
                 qPrintable(b->summary()->text()));
        QCoreApplication::processEvents(); // the queued replot places the labels
        b->paretoPlot()->canvas()->repaint();
        QVERIFY(b->paretoPlot()->visibleScatterLabels() >= 3);
        for (int i = 0; i < int(r.references.size()); ++i)
            for (int j = i + 1; j < int(r.references.size()); ++j) {
                const QRect a = b->paretoPlot()->scatterLabelRect(i), c = b->paretoPlot()->scatterLabelRect(j);
                QVERIFY2(a.isEmpty() || c.isEmpty() || !a.intersects(c), qPrintable(QString("labels %1 and %2 overlap").arg(i).arg(j)));
            }
        saveShot(w_.get(), "size-budget.png");

        // click the star: the chosen plan becomes the Compress view's quantization
        const QPoint star = b->paretoPlot()->pointCenter(2, 0);
        QVERIFY(star.x() >= 0);
        QTest::mouseClick(b->paretoPlot()->canvas(), Qt::LeftButton, {}, star);
        QCOMPARE(b->picked(), &r.chosen);
        QVERIFY2(b->summary()->text().startsWith("Picked chosen"), qPrintable(b->summary()->text()));
        CompressView* c = w_->compressView();
        QCOMPARE(c->quantBox()->currentText(), QString("mixed: chosen"));
        const CompressionPlan plan = c->plan();
        QVERIFY(plan.quant.has_value());
        QCOMPARE(int(plan.quant->rules.size()), 84);
        for (const auto& [name, scheme] : r.chosen.scheme)
            QCOMPARE(plan.quant->schemeFor(name).value_or(QuantScheme{}).name(), scheme.name());
        // saved as a mixed-precision plan and loaded back
        QTemporaryDir tmp;
        plan.save(tmp.filePath("mixed.json").toStdString());
        const CompressionPlan back = CompressionPlan::fromFile(tmp.filePath("mixed.json").toStdString());
        QCOMPARE(int(back.quant->rules.size()), 84);
        c->setPlan(back);
        QCOMPARE(c->quantBox()->currentText(), QString("mixed: 84 rules from the plan"));
        QCOMPARE(int(c->plan().quant->rules.size()), 84);
        QVERIFY2(c->prediction()->text().contains("Predicted"), qPrintable(c->prediction()->text()));
        // #27: the rules are a table over the store, each edit checked in setData as a plan file is
        w_->tabs()->setCurrentWidget(c); // a table edits only where it is shown
        QuantRulesModel* rules = c->editor()->rulesModel();
        QCOMPARE(rules->rowCount(), 84);
        QVERIFY(c->editor()->rulesTable()->isVisibleTo(c));
        QSignalSpy refusedRule(rules, &QuantRulesModel::refused);
        const QModelIndex scheme0 = rules->index(0, QuantRulesModel::Scheme), layers0 = rules->index(0, QuantRulesModel::Layers);
        const QString firstPattern = layers0.data(Qt::EditRole).toString(); // edited as written
        // shown as the Low rank table names a layer: "^model\.layers\.0\.X\.weight$" as "layers.0.X"
        QVERIFY2(firstPattern.startsWith("^model\\.") && firstPattern.endsWith("\\.weight$"), qPrintable(firstPattern));
        QCOMPARE(layers0.data(Qt::DisplayRole).toString(), firstPattern.mid(8).chopped(9).replace("\\.", "."));
        c->editor()->rulesTable()->scrollToTop();
        typeIntoCell(c->editor()->rulesTable(), scheme0, "q9_9");
        typeIntoCell(c->editor()->rulesTable(), layers0, "(");
        QCOMPARE(refusedRule.count(), 2);
        QVERIFY2(refusedRule.at(0).at(0).toString().startsWith("rule 1: scheme"), qPrintable(refusedRule.at(0).at(0).toString()));
        QVERIFY2(refusedRule.at(1).at(0).toString().contains("'(' is not a valid regular expression"), qPrintable(refusedRule.at(1).at(0).toString()));
        QCOMPARE(c->plan().quant->rules[0].layers, firstPattern.toStdString());
        typeIntoCell(c->editor()->rulesTable(), scheme0, "q8_0");
        QCOMPARE(refusedRule.count(), 2);
        QCOMPARE(w_->planStore()->plan().quant->rules[0].scheme.name(), std::string("q8_0"));
        QCOMPARE(scheme0.data().toString(), QString("q8_0"));
        QVERIFY(rules->removeRows(0, 1));
        QCOMPARE(int(w_->planStore()->plan().quant->rules.size()), 83);
        QCOMPARE(rules->rowCount(), 83);
        c->setPlan(back); // a loaded plan is the same table's rows
        QCOMPARE(rules->rowCount(), 84);
        QCOMPARE(rules->index(0, QuantRulesModel::Layers).data(Qt::EditRole).toString(), firstPattern);
        saveShot(w_.get(), "compress-rules.png");
        w_->tabs()->setCurrentWidget(q);
        // a uniform point gives one scheme
        const QPoint q40 = b->paretoPlot()->pointCenter(1, 0);
        QTest::mouseClick(b->paretoPlot()->canvas(), Qt::LeftButton, {}, q40);
        QCOMPARE(c->quantBox()->currentText(), QString::fromStdString(r.references[0].label));
        q->pages()->setCurrentIndex(0);
        w_->tabs()->setCurrentIndex(0);
    }

    // #29: the Fit-to-size page searches depth, width and types for one file
    // size in the background; its chart has measured points of all three
    // kinds; clicking a depth point puts that plan (blocks, linear healing,
    // GGUF types) in the store.
    void fitToSize()
    {
        CompressView* c = w_->compressView();
        w_->tabs()->setCurrentWidget(c);
        FitSizePanel* f = c->fitSizePanel();
        c->pages()->setCurrentWidget(f);
        f->targetBox()->setCurrentText("q4_k_m");
        f->maxWindows()->setValue(8);
        f->frontierBox()->setChecked(true);
        QSignalSpy searched(f, &FitSizePanel::searched);
        QTest::mouseClick(f->searchButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(searched.count() == 1, 900000);
        const JointResult& r = *f->result();
        for (int k = 0; k < 3; ++k)
            QVERIFY2(f->pointAt(k, 0) != nullptr, qPrintable(QString("no measured point of kind %1").arg(k)));
        QVERIFY(f->pointAt(3, 0) == &r.plans[std::size_t(r.chosen)]);
        QVERIFY(r.plans[std::size_t(r.chosen)].file_bytes <= r.target_bytes);
        QVERIFY2(f->summary()->text().startsWith("Chosen for"), qPrintable(f->summary()->text()));
        // the rank correlation shown, computed here on its own: Spearman's rho
        // = 1 - 6 sum d^2 / (n (n^2 - 1)) over the measured plans (no ties here)
        std::vector<const JointPlan*> measured;
        for (const auto* list : {&r.plans, &r.frontier})
            for (const JointPlan& p : *list)
                if (p.measured)
                    measured.push_back(&p);
        const auto rankOf = [&](const JointPlan* p, bool byPrediction) {
            int rank = 0;
            for (const JointPlan* q : measured)
                rank += byPrediction ? q->predicted_kld < p->predicted_kld : q->result.kld_mean < p->result.kld_mean;
            return rank;
        };
        double d2 = 0;
        for (const JointPlan* p : measured)
            d2 += std::pow(rankOf(p, true) - rankOf(p, false), 2);
        const double n = double(measured.size());
        QVERIFY(n >= 3);
        QVERIFY2(std::abs(r.rank_correlation - (1 - 6 * d2 / (n * (n * n - 1)))) < 1e-12,
                 qPrintable(QString("%1 vs %2").arg(r.rank_correlation).arg(1 - 6 * d2 / (n * (n * n - 1)))));
        QVERIFY(f->summary()->text().contains(QString::number(r.rank_correlation, 'f', 3)));
        saveShot(w_.get(), "fit-to-size.png");
        // a depth point's plan becomes the store's
        const JointPlan* depth = f->pointAt(1, 0);
        const QPoint at = f->chart()->pointCenter(1, 0);
        QVERIFY(at.x() >= 0);
        QSignalSpy picked(f, &FitSizePanel::picked);
        QTest::mouseClick(f->chart()->canvas(), Qt::LeftButton, {}, at);
        QCOMPARE(picked.count(), 1);
        const CompressionPlan& p = w_->planStore()->plan();
        QCOMPARE(p.drop_blocks, depth->drop);
        QVERIFY(p.heal && p.heal->isLinear());
        QVERIFY(p.gguf.has_value());
        QCOMPARE(p.gguf->tensor_types, depth->tensor_types);
        QVERIFY(!p.quant.has_value());
        c->pages()->setCurrentIndex(0);
        w_->planStore()->setPlan(CompressionPlan{}); // leave the next function a plain plan
    }

    // #29: the healing method is the store's; a fitted map has no LoRA settings
    void linearHealChoice()
    {
        CompressView* c = w_->compressView();
        PlanEditor* e = c->editor();
        e->healMethodBox()->setCurrentIndex(e->healMethodBox()->findData(QString("lora"))); // whatever an earlier pick left
        e->healBox()->setChecked(true);
        QCOMPARE(e->healMethodBox()->currentData().toString(), QString("lora"));
        QVERIFY(w_->planStore()->plan().heal && !w_->planStore()->plan().heal->isLinear());
        e->healMethodBox()->setCurrentIndex(e->healMethodBox()->findData(QString("linear")));
        QVERIFY(w_->planStore()->plan().heal && w_->planStore()->plan().heal->isLinear());
        QVERIFY(!e->healSteps()->isEnabled());
        // a loaded plan's method shows in the box
        CompressionPlan p = w_->planStore()->plan();
        p.heal->method = "lora";
        w_->planStore()->setPlan(p);
        QCOMPARE(e->healMethodBox()->currentData().toString(), QString("lora"));
        QVERIFY(e->healSteps()->isEnabled());
        e->healBox()->setChecked(false);
        QVERIFY(!w_->planStore()->plan().heal);
    }

    // #28: a GGUF opens as a model and the Quantization view shows its recipe
    // (the type of every tensor, overrides included); GGUF files measured on
    // the evaluation text join the size budget's chart as labelled points.
    void ggufOpensAndJoinsThePareto()
    {
        QTemporaryDir tmp;
        const QString plan = tmp.filePath("plan.json");
        {
            QFile f(plan);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QJsonDocument(QJsonObject{{"model", demoModelDir()}}).toJson());
        }
        const QString mixed = tmp.filePath("ts-q4_k_m.gguf"), q8 = tmp.filePath("ts-q8_0.gguf");
        QVERIFY(cliJson({"compress", "--plan", plan, "--format", "gguf", "--type", "q4_k_m", "--tensor-type", "ffn_down=q8_0", "--out", mixed,
                         "--json"}).contains("tensor_types"));
        QVERIFY(cliJson({"compress", "--plan", plan, "--format", "gguf", "--type", "q8_0", "--out", q8, "--json"}).contains("tensor_types"));

        w_->openModel(mixed);
        QTRY_VERIFY_WITH_TIMEOUT(w_->session() && w_->session()->dir() == QFileInfo(mixed).absoluteFilePath().toStdString(), 60000);
        QuantView* q = w_->quantView();
        w_->tabs()->setCurrentWidget(q);
        QCOMPARE(q->heatmapMetric()->currentIndex(), QuantView::kStoredTypeMetric);
        // rows of 128 and 352 do not divide 256: llama-quantize's fallbacks (Q4_K -> Q5_0, Q6_K -> Q8_0), and every ffn_down at Q8_0
        QVERIFY2(q->storedTypes().contains("Q5_0 ×") && q->storedTypes().contains("Q8_0 ×"), qPrintable(q->storedTypes()));
        int q8Count = 0;
        for (const TensorSummary& t : w_->session()->summary().tensors)
            if (t.kind == "down") {
                QCOMPARE(t.dtype, std::string("Q8_0"));
                ++q8Count;
            }
        QCOMPARE(q8Count, 12);
        QVERIFY(q->heatmapPlot()->placeholder().isEmpty());
        saveShot(w_.get(), "quant-gguf-types.png");

        w_->openModel(demoModelDir());
        QTRY_VERIFY_WITH_TIMEOUT(w_->session() && QFileInfo(QString::fromStdString(w_->session()->dir())).fileName() == "tinystories-12L",
                                 60000);
        QTRY_VERIFY_WITH_TIMEOUT(!w_->jobs()->busy(), 120000);
        BudgetPanel* b = q->budgetPanel();
        q->pages()->setCurrentWidget(b);
        b->evalWindows()->setValue(4);
        b->addFiles({mixed, q8});
        QTRY_VERIFY_WITH_TIMEOUT(b->importedFiles().size() == 2 && b->addFilesButton()->isEnabled(), 300000);
        QCOMPARE(QFileInfo(QString::fromStdString(b->importedFiles()[0].path)).fileName(), QString("ts-q4_k_m.gguf")); // by size
        QVERIFY(b->importedFiles()[0].fidelity.kld_mean > b->importedFiles()[1].fidelity.kld_mean);
        QCoreApplication::processEvents();
        QVERIFY(b->paretoPlot()->pointCenter(BudgetPanel::kImportedSeries, 1).x() >= 0);
        QTest::mouseClick(b->paretoPlot()->canvas(), Qt::LeftButton, {}, b->paretoPlot()->pointCenter(BudgetPanel::kImportedSeries, 0));
        QVERIFY2(b->summary()->text().contains("ts-q4_k_m.gguf") && b->summary()->text().contains("mean KLD"),
                 qPrintable(b->summary()->text()));
        saveShot(w_.get(), "budget-files.png");
        // #32: the same files measured on int8 products (llama.cpp's arithmetic):
        // each point moves by the input rounding, and is the engine's own int8 measurement
        const double exactKld = b->importedFiles()[0].fidelity.kld_mean;
        b->int8Products()->setChecked(true);
        b->addFiles({mixed, q8});
        QTRY_VERIFY_WITH_TIMEOUT(b->addFilesButton()->isEnabled() && b->importedFiles()[0].fidelity.kld_mean != exactKld, 300000);
        FileComparisonOptions fo;
        fo.max_windows = 4;
        fo.int8_products = true;
        const auto rows = compareFiles(*w_->session(), {mixed.toStdString(), q8.toStdString()}, w_->planStore()->plan().eval_text, fo);
        QCOMPARE(b->importedFiles()[0].fidelity.kld_mean, rows[0].fidelity.kld_mean);
        QCOMPARE(b->importedFiles()[1].fidelity.kld_mean, rows[1].fidelity.kld_mean);
        saveShot(w_.get(), "budget-files-int8.png");
        b->int8Products()->setChecked(false);
        q->pages()->setCurrentIndex(0);
        w_->tabs()->setCurrentIndex(0);
        // the files belong to this opening of the model: opened again, the chart starts empty (as sizeBudget expects)
        w_->openModel(demoModelDir());
        QTRY_VERIFY_WITH_TIMEOUT(b->importedFiles().empty(), 60000);
    }

    // #14: a Qwen3 checkpoint opens in the Blocks, Quantization and Low-rank views.
    void opensQwen3()
    {
        QTRY_VERIFY_WITH_TIMEOUT(!w_->jobs()->busy(), 120000);
        const QString dir = QStringLiteral(TAILOR_TEST_DATA) + "/models/qwen3-synthetic";
        w_->openModel(dir);
        QTRY_VERIFY_WITH_TIMEOUT(w_->session() && w_->session()->summary().model_type == "qwen3", 60000);
        QVERIFY(w_->blocksView()->scanButton()->isEnabled());
        w_->tabs()->setCurrentWidget(w_->quantView());
        QTRY_VERIFY_WITH_TIMEOUT(w_->quantView()->report().layers.size() == 4 * 7, 120000);
        w_->tabs()->setCurrentWidget(w_->lowRankView());
        QTRY_VERIFY_WITH_TIMEOUT(w_->lowRankView()->spectra().size() == 4 * 7, 120000);
        saveShot(w_.get(), "qwen3-lowrank-view.png");
        w_->tabs()->setCurrentIndex(0);
    }

    // #30: a mixture of experts opens, the Experts view shows the routing heat
    // map (the expert no token chose named), a cut to 6 experts per block goes
    // into the plan and Compress & Export runs it.
    void expertsView()
    {
        const QString moe = testdata::root() + "/models/qwen3-moe-synthetic";
        w_->openModel(moe);
        QTRY_VERIFY_WITH_TIMEOUT(w_->session() && w_->session()->summary().n_expert == 8, 60000);
        ExpertsView* v = w_->expertsView();
        w_->tabs()->setCurrentWidget(v);
        QCOMPARE(v->keepSpin()->minimum(), 2); // a token uses 2
        QSignalSpy measured(v, &ExpertsView::measured);
        QTest::mouseClick(v->measureButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(measured.count() == 1, 120000);
        QVERIFY2(v->summary()->text().contains("Never chosen: block 0: expert 7"), qPrintable(v->summary()->text()));
        v->keepSpin()->setValue(6);
        QCOMPARE(int(v->kept().size()), 4);
        QCOMPARE(int(v->kept()[0].size()), 6);
        QVERIFY(std::find(v->kept()[0].begin(), v->kept()[0].end(), 7) == v->kept()[0].end()); // the unused one goes
        QVERIFY2(v->summary()->text().contains("The cut removes 8 experts"), qPrintable(v->summary()->text()));
        QVERIFY(v->heatmap()->placeholder().isEmpty());
        // marking by hand: block 3 keeps its least used expert instead of one the cut kept
        const std::vector<int> before = v->kept()[3];
        int unused = -1;
        for (int e = 0; e < 8 && unused < 0; ++e)
            if (std::find(before.begin(), before.end(), e) == before.end())
                unused = e;
        QTest::mouseClick(v->heatmap()->canvas(), Qt::LeftButton, {}, v->heatmap()->cellCenter(3, unused));
        QCOMPARE(int(v->kept()[3].size()), 7);
        QVERIFY2(v->summary()->text().contains("every block must keep as many"), qPrintable(v->summary()->text()));
        QVERIFY(!v->useInPlanButton()->isEnabled());
        QTest::mouseClick(v->heatmap()->canvas(), Qt::LeftButton, {}, v->heatmap()->cellCenter(3, before[0]));
        QCOMPARE(int(v->kept()[3].size()), 6);
        QVERIFY(std::find(v->kept()[3].begin(), v->kept()[3].end(), unused) != v->kept()[3].end());
        QVERIFY(v->useInPlanButton()->isEnabled());
        saveShot(w_.get(), "experts-view.png");
        QTest::mouseClick(v->useInPlanButton(), Qt::LeftButton);
        PlanStore* store = w_->planStore();
        QVERIFY(store->plan().experts.has_value());
        QCOMPARE(store->plan().experts->keep, v->kept());
        CompressView* c = w_->compressView();
        QVERIFY2(c->widthLabel()->text() == "6 experts kept per block (by freq)", qPrintable(c->widthLabel()->text()));
        QVERIFY2(c->prediction()->text().contains("10021696 → 9972032 parameters"), qPrintable(c->prediction()->text()));
        w_->tabs()->setCurrentWidget(c);
        // a short evaluation text: each stage's KLD is a full pass over a 152k-token head
        QTemporaryDir tmp;
        const QString shortText = tmp.filePath("short.txt");
        {
            QFile in(demoEvalText()), out(shortText);
            QVERIFY(in.open(QIODevice::ReadOnly) && out.open(QIODevice::WriteOnly));
            out.write(in.read(12000));
        }
        c->evalTextEdit()->setText(shortText);
        const auto restore = qScopeGuard([c] { c->evalTextEdit()->setText(demoEvalText()); });
        QSignalSpy finished(c, &CompressView::runFinished);
        QTest::mouseClick(c->runButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 300000);
        QVERIFY(c->applied() != nullptr);
        const auto& stages = c->applied()->stages;
        QCOMPARE(QString::fromStdString(stages[2].stage), QString("experts"));
        QVERIFY(stages[2].parameters < stages[0].parameters);
        QVERIFY(stages[2].kld_mean > 0);
        saveShot(w_.get(), "experts-plan-run.png");
        store->setExperts(std::nullopt);
    }

    void cleanupTestCase() { w_.reset(); }
};

QTEST_MAIN(TestWorkbench)
#include "test_workbench.moc"
