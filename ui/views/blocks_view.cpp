#include "blocks_view.h"
#include "ui/plan_binding.h"
#include "ui/plan_store.h"
#include "core/util/block_list.h"
#include "ui/job_runner.h"
#include "ui/models/block_importance_model.h"
#include "ui/plots/plot_view.h"
#include "ui/resource_paths.h"
#include "ui/settings_keys.h"

#include "core/eval/fidelity.h"
#include "core/model/model_session.h"
#include "core/util/error.h"
#include "core/eval/perplexity.h"
#include "core/util/result_cache.h"

#include <QCheckBox>
#include <QJsonArray>
#include <algorithm>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

namespace tailor::ui {

BlocksView::BlocksView(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner)
{
    model_ = new BlockImportanceModel(store, this);
    buildLayout();
    connectSignals();
    bindStore(store); // the one way a view reaches the plan
}

void BlocksView::buildLayout()
{
    QSettings st;
    auto* root = new QHBoxLayout(this);
    auto* left = new QVBoxLayout;

    auto* calibBox = new QGroupBox(tr("Calibration"), this);
    auto* form = new QFormLayout(calibBox);
    auto* fileRow = new QHBoxLayout;
    calib_ = new QLineEdit(st.value(keys::kBlocksCalib, demoCalibText()).toString(), calibBox);
    auto* browse = new QToolButton(calibBox);
    browse->setText("…");
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Calibration text"), calib_->text());
        if (!f.isEmpty())
            calib_->setText(f);
    });
    fileRow->addWidget(calib_);
    fileRow->addWidget(browse);
    windows_ = new QSpinBox(calibBox);
    windows_->setRange(1, 100000);
    windows_->setValue(st.value(keys::kBlocksWindows, 10).toInt());
    seqLen_ = new QSpinBox(calibBox);
    seqLen_->setRange(2, 1 << 16);
    seqLen_->setValue(st.value(keys::kBlocksSeqLen, 128).toInt());
    exclude_ = new QLineEdit(st.value(keys::kBlocksExclude, kTaylorPlusExclusion).toString(), calibBox);
    exclude_->setToolTip(tr("Blocks never proposed for dropping (Taylor+: first four and last two). "
                            "Negative indexes count from the end; 'none' for no exclusion."));
    auto* critRow = new QHBoxLayout;
    for (const auto& c : blockCriteria()) {
        auto* box = new QCheckBox(QString::fromUtf8(c.label), calibBox);
        box->setChecked(true);
        critRow->addWidget(box);
        useCriterion_.push_back(box);
    }
    scan_ = new QPushButton(tr("Run scan"), calibBox);
    scan_->setEnabled(false);
    form->addRow(tr("Text"), fileRow);
    form->addRow(tr("Windows × length"), [&] {
        auto* h = new QHBoxLayout;
        h->addWidget(windows_);
        h->addWidget(new QLabel("×"));
        h->addWidget(seqLen_);
        return h;
    }());
    form->addRow(tr("Excluded (+)"), exclude_);
    form->addRow(tr("Criteria"), critRow);
    form->addRow(scan_);
    left->addWidget(calibBox);

    auto* selBox = new QGroupBox(tr("Selection"), this);
    auto* sel = new QFormLayout(selBox);
    auto* sugRow = new QHBoxLayout;
    suggestK_ = new QSpinBox(selBox);
    suggestK_->setRange(1, 1024);
    suggestK_->setValue(3);
    suggestCriterion_ = new QComboBox(selBox);
    for (const auto& c : blockCriteria())
        suggestCriterion_->addItem(QString::fromUtf8(c.key));
    iterative_ = new QCheckBox(tr("iterative"), selBox);
    iterative_->setToolTip(tr("Drop the least important block, re-score the pruned model, repeat"));
    suggestButton_ = new QPushButton(tr("Suggest"), selBox);
    suggestButton_->setEnabled(false);
    sugRow->addWidget(suggestK_);
    sugRow->addWidget(suggestCriterion_);
    sugRow->addWidget(iterative_);
    sugRow->addWidget(suggestButton_);
    evalText_ = new QLineEdit(demoEvalText(), selBox);
    evaluate_ = new QPushButton(tr("Evaluate selection"), selBox);
    evaluate_->setEnabled(false);
    selection_ = new QTableWidget(6, 2, selBox);
    selection_->setHorizontalHeaderLabels({tr("Dense"), tr("Selection")});
    // KLD and top-1 agreement show damage the perplexity hides (#16)
    selection_->setVerticalHeaderLabels({tr("Calibration PPL"), tr("Evaluation PPL (L=256)"), tr("KLD from dense (mean)"),
                                         tr("Top-1 agreement"), tr("Parameters"), tr("Expected speed-up")});
    selection_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    selection_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    selection_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    selection_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    selection_->setFixedHeight(selection_->horizontalHeader()->sizeHint().height() + 6 * 30 + 4);
    sel->addRow(tr("Suggest k"), sugRow);
    sel->addRow(tr("Evaluation text"), evalText_);
    sel->addRow(evaluate_);
    sel->addRow(selection_);
    left->addWidget(selBox);

    status_ = new QLabel(tr("Open a model, then run the scan."), this);
    status_->setWordWrap(true);
    left->addWidget(status_);
    table_ = new QTableView(this);
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(model_);
    proxy->setSortRole(Qt::UserRole);
    table_->setModel(proxy);
    table_->setSortingEnabled(true);
    table_->sortByColumn(BlockImportanceModel::Block, Qt::AscendingOrder);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    left->addWidget(table_, 1);

    auto* charts = new QSplitter(Qt::Vertical, this);
    for (const auto& c : blockCriteria()) {
        auto* plot = new PlotView(charts);
        plot->setTitle(QString::fromUtf8(c.title));
        plot->setAxisLabels(tr("block"), QString());
        charts->addWidget(plot);
        plots_.push_back(plot);
    }
    auto* leftWidget = new QWidget(this);
    leftWidget->setLayout(left);
    leftWidget->setMaximumWidth(560);
    root->addWidget(leftWidget);
    root->addWidget(charts, 1);

    drain_ = new QTimer(this);
    drain_->setInterval(100);
}

void BlocksView::connectSignals()
{
    connect(scan_, &QPushButton::clicked, this, &BlocksView::runScan);
    connect(suggestButton_, &QPushButton::clicked, this, &BlocksView::suggest);
    connect(evaluate_, &QPushButton::clicked, this, &BlocksView::evaluateSelection);
    connect(model_, &BlockImportanceModel::markedChanged, this, [this](const std::set<int>& m) {
        evaluate_->setEnabled(session_ && !m.empty());
        refreshPlots();
    });
    for (int i = 0; i < 3; ++i)
        connect(plots_[i], &PlotView::barClicked, this, [this](int block) {
            std::set<int> m = model_->marked();
            if (!m.erase(block))
                m.insert(block);
            model_->setMarked(m);
        });
    // Partial results are drained on a timer, not replotted per block.
    connect(drain_, &QTimer::timeout, this, [this] {
        if (!pending_)
            return;
        model_->setResult(*pending_);
        pending_.reset();
        refreshPlots();
    });
}

void BlocksView::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    ++revision_;
    model_->setResult(BlockScanResult{});
    fromCache_ = false;
    for (auto* p : plots_)
        p->clear();
    for (int r = 0; r < selection_->rowCount(); ++r)
        for (int c = 0; c < 2; ++c)
            selection_->setItem(r, c, new QTableWidgetItem());
    scan_->setEnabled(session_ != nullptr);
    suggestButton_->setEnabled(false);
    evaluate_->setEnabled(false);
    // what is true now (cached scores, when found, say so in their turn)
    status_->setText(session_ ? tr("Run the scan to score the %1 blocks.").arg(session_->summary().n_layer)
                              : tr("Open a model, then run the scan."));
    if (session_)
        loadCached();
}

void BlocksView::saveSettings() const
{
    QSettings st;
    st.setValue(keys::kBlocksCalib, calib_->text());
    st.setValue(keys::kBlocksWindows, windows_->value());
    st.setValue(keys::kBlocksSeqLen, seqLen_->value());
    st.setValue(keys::kBlocksExclude, exclude_->text());
}

std::set<int> BlocksView::markedBlocks() const { return model_->marked(); }
void BlocksView::setMarkedBlocks(const std::set<int>& b) { model_->setMarked(b); }

void BlocksView::bindStore(PlanStore* store)
{
    store_ = store;
    store->setCalib(calib_->text().trimmed().toStdString()); // the remembered calibration text is the workbench's
    bindPlanText(calib_, store, PlanText::Calib);
    bindPlanText(evalText_, store, PlanText::Eval);
}
const BlockScanResult& BlocksView::result() const { return model_->result(); }
PlotView* BlocksView::plot(Criterion c) const
{
    const auto& rows = blockCriteria();
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].id == c)
            return plots_[i];
    return nullptr;
}

BlockScanOptions BlocksView::scanOptions() const
{
    BlockScanOptions o;
    for (std::size_t i = 0; i < blockCriteria().size(); ++i)
        o.*blockCriteria()[i].enabled = useCriterion_[i]->isChecked();
    o.excluded = parseBlockList(exclude_->text().toStdString(), session_ ? int(session_->summary().n_layer) : 0, "excluded blocks");
    return o;
}

std::optional<BlockScanOptions> BlocksView::validScanOptions()
{
    try {
        return scanOptions();
    } catch (const std::exception& e) {
        status_->setText(QString::fromUtf8(e.what()));
        return std::nullopt;
    }
}

CalibOptions BlocksView::calibOptions() const
{
    CalibOptions c;
    c.windows = windows_->value();
    c.seq_len = seqLen_->value();
    return c;
}


void BlocksView::loadCached()
{
    BlockScanOptions opt;
    try {
        opt = scanOptions();
    } catch (const std::exception&) {
        return;
    }
    auto session = session_;
    const std::string calibPath = store_->plan().calib;
    const CalibOptions co = calibOptions();
    const int rev = revision_;
    runner_->submit<std::optional<QJsonObject>>(
        tr("Look up cached block scores"),
        [session, calibPath, co, opt](const ProgressFn&) -> std::optional<QJsonObject> {
            const TokenWindows calib = session->calibration(calibPath, co);
            return ResultCache::load("blocks", fingerprintToJson(scanFingerprint(*session, calib, opt)));
        },
        this, [this, rev](const std::optional<QJsonObject>& cached) {
            if (!cached || rev != revision_)
                return;
            model_->setResult(scanFromJson(*cached, nullptr, nullptr, nullptr));
            fromCache_ = true;
            suggestButton_->setEnabled(true);
            status_->setText(tr("Showing cached scores (dense calibration PPL %1). Run the scan to recompute.")
                                 .arg(model_->result().dense_ppl, 0, 'f', 4));
            refreshPlots();
        },
        {}, JobOptions{JobLane::Short, QStringLiteral("blocks-cache")});
}

void BlocksView::runScan()
{
    if (!session_)
        return;
    const auto settings = validScanOptions();
    if (!settings)
        return;
    const BlockScanOptions opt = *settings;
    auto session = session_;
    const std::string calibPath = store_->plan().calib;
    const CalibOptions co = calibOptions();
    const int rev = revision_;
    QPointer<BlocksView> self(this);
    scan_->setEnabled(false);
    fromCache_ = false;
    status_->setText(tr("Scanning…"));
    drain_->start();
    const int id = runner_->submit<QJsonObject>(
        tr("Block importance scan"),
        [self, session, calibPath, co, opt, rev](const ProgressFn& progress) {
            const TokenWindows calib = session->calibration(calibPath, co);
            const BlockScanResult r = scanBlocks(session->model(), calib, opt, progress, [self, rev](const BlockScanResult& partial) {
                if (self)
                    QMetaObject::invokeMethod(self.data(), [self, partial, rev] {
                        if (self && rev == self->revision_)
                            self->pending_ = partial;
                    }, Qt::QueuedConnection);
            });
            const ScanFingerprint fp = scanFingerprint(*session, calib, opt);
            const QJsonObject json = scanToJson(r, fp, 0, int(r.blocks.size()) - 1);
            ResultCache::store("blocks", fingerprintToJson(fp), json);
            return json;
        },
        this, [this, rev](const QJsonObject& json) {
            if (rev != revision_)
                return;
            pending_.reset();
            const BlockScanResult r = scanFromJson(json, nullptr, nullptr, nullptr);
            model_->setResult(r);
            refreshPlots();
            suggestButton_->setEnabled(true);
            status_->setText(tr("Dense calibration PPL %1; scan took %2 s. Click bars or tick boxes to mark blocks.")
                                 .arg(r.dense_ppl, 0, 'f', 4)
                                 .arg(r.seconds, 0, 'f', 1));
            if (json.contains("warnings"))
                status_->setText(status_->text() + "<br>" + json.value("warnings").toArray().first().toString().toHtmlEscaped());
            Q_EMIT message(tr("Block scan finished: dense calibration PPL %1").arg(r.dense_ppl, 0, 'f', 6));
            Q_EMIT scanFinished();
        },
        [this, rev](const JobEnd& end) {
            drain_->stop();
            if (rev != revision_)
                return;
            scanJob_ = 0;
            if (pending_) { // keep what finished before a cancel
                model_->setResult(*pending_);
                pending_.reset();
                refreshPlots();
            }
            scan_->setEnabled(session_ != nullptr);
            if (end.failed())
                status_->setText(tr("Scan failed: %1").arg(end.message));
            else if (end.cancelled())
                status_->setText(tr("Scan cancelled; blocks finished so far are shown."));
        });
    scanJob_ = id;
}

void BlocksView::suggest()
{
    if (!session_)
        return;
    const Criterion c = criterionFromName(suggestCriterion_->currentText().toStdString());
    const int k = suggestK_->value();
    if (!iterative_->isChecked()) {
        try {
            const auto pick = suggestOneShot(model_->result(), c, k);
            model_->setMarked(std::set<int>(pick.begin(), pick.end()));
        } catch (const std::exception& e) {
            status_->setText(QString::fromUtf8(e.what()));
        }
        return;
    }
    const auto settings = validScanOptions();
    if (!settings)
        return;
    const BlockScanOptions opt = *settings;
    auto session = session_;
    const std::string calibPath = store_->plan().calib;
    const CalibOptions co = calibOptions();
    runner_->submit<std::vector<int>>(
        tr("Suggest %1 blocks (iterative)").arg(k),
        [session, calibPath, co, opt, c, k](const ProgressFn& p) {
            const TokenWindows calib = session->calibration(calibPath, co);
            return suggestIterative(session->model(), calib, c, k, opt, p);
        },
        this, [this](const std::vector<int>& pick) { model_->setMarked(std::set<int>(pick.begin(), pick.end())); },
        [this](const JobEnd& end) {
            if (end.failed())
                status_->setText(tr("Suggestion failed: %1").arg(end.message));
        });
}

void BlocksView::evaluateSelection()
{
    if (!session_ || model_->marked().empty())
        return;
    struct Outcome {
        EvalResult calibDense, calibDrop;
        FidelityResult eval; // both perplexities, KLD and top-1 agreement in one pass
        DropSavings savings;
    };
    auto session = session_;
    const std::vector<int> drop = store_->plan().drop_blocks;
    const std::string calibPath = store_->plan().calib;
    const std::string evalPath = store_->plan().eval_text;
    const CalibOptions co = calibOptions();
    evaluate_->setEnabled(false);
    QStringList names;
    for (int b : drop)
        names << QString::number(b);
    selection_->setHorizontalHeaderLabels({tr("Dense"), tr("Without %1").arg(names.join(", "))});
    runner_->submit<Outcome>(
        tr("Evaluate without blocks %1").arg(names.join(", ")),
        [session, drop, calibPath, evalPath, co](const ProgressFn& p) {
            Outcome o;
            auto part = [&](int i) {
                return [&, i](const Progress& q) { return !p || p({(i + q.fraction) / 3.0, q.stage}); };
            };
            const TokenWindows calib = session->calibration(calibPath, co);
            const auto evalIds = session->tokenizeFile(evalPath);
            EvalOptions opt;
            opt.seq_len = co.seq_len;
            o.calibDense = evaluateWindows(session->model(), calib, opt, part(0));
            opt.drop_blocks = drop;
            o.calibDrop = evaluateWindows(session->model(), calib, opt, part(1));
            FidelityOptions fo;
            fo.model_drop = drop;
            o.eval = compareToBase(session->model(), session->model(), cutWindows(evalIds, 256, 0, evalPath), fo, part(2));
            o.savings = dropSavings(session->model(), drop);
            return o;
        },
        this, [this](const Outcome& o) {
            auto set = [this](int row, int col, const QString& text) { selection_->setItem(row, col, new QTableWidgetItem(text)); };
            set(0, 0, QString::number(o.calibDense.ppl, 'f', 4));
            set(0, 1, QString::number(o.calibDrop.ppl, 'f', 4));
            set(1, 0, QString::number(o.eval.base_ppl, 'f', 4));
            set(1, 1, QString::number(o.eval.ppl, 'f', 4));
            set(2, 0, "0");
            set(2, 1, tr("%1 (p99 %2)").arg(o.eval.kld_mean, 0, 'g', 4).arg(o.eval.kld_p99, 0, 'g', 4));
            set(3, 0, "100 %");
            set(3, 1, tr("%1 %").arg(100 * o.eval.top1_agreement, 0, 'f', 2));
            set(4, 0, QString::number(o.savings.parameters_before));
            set(4, 1, tr("%1 (−%2 %)").arg(o.savings.parameters_after).arg(100 * o.savings.param_reduction, 0, 'f', 1));
            set(5, 0, "1.00×");
            set(5, 1, tr("%1× (−%2 % FLOPs)").arg(1.0 / (1.0 - o.savings.flop_reduction), 0, 'f', 2).arg(100 * o.savings.flop_reduction, 0, 'f', 1));
            selectionEvalPpl_ = o.eval.ppl;
            selectionKld_ = o.eval.kld_mean;
            Q_EMIT message(tr("Selection: evaluation PPL %1 (dense %2), KLD from dense %3, top-1 agreement %4 %")
                               .arg(o.eval.ppl, 0, 'f', 6)
                               .arg(o.eval.base_ppl, 0, 'f', 6)
                               .arg(o.eval.kld_mean, 0, 'g', 6)
                               .arg(100 * o.eval.top1_agreement, 0, 'f', 2));
            Q_EMIT selectionEvaluated();
        },
        [this](const JobEnd& end) {
            evaluate_->setEnabled(session_ && !model_->marked().empty());
            if (end.failed())
                status_->setText(tr("Evaluation failed: %1").arg(end.message));
        });
}

void BlocksView::refreshPlots()
{
    const BlockScanResult& r = model_->result();
    QStringList labels;
    std::vector<BarStyle> styles;
    const std::set<int> marked = model_->marked();
    for (const auto& b : r.blocks) {
        labels << QString::number(b.index);
        styles.push_back(marked.count(b.index) ? BarStyle::Marked : b.excluded ? BarStyle::Greyed : BarStyle::Normal);
    }
    for (std::size_t i = 0; i < blockCriteria().size(); ++i) {
        const CriterionRow& c = blockCriteria()[i];
        std::vector<double> v;
        for (const auto& b : r.blocks)
            v.push_back(b.*c.score);
        const bool computed = std::any_of(v.begin(), v.end(), [](double x) { return !std::isnan(x); });
        if (c.is_perplexity && computed) {
            plots_[i]->setLogY(true);
            plots_[i]->setBars(v, labels, styles, r.dense_ppl, tr("dense %1").arg(r.dense_ppl, 0, 'f', 3));
        } else {
            plots_[i]->setBars(v, labels, styles);
        }
        plots_[i]->setPlaceholder(computed || r.blocks.empty()
                                      ? QString()
                                      : tr("Not computed: tick %1 and run the scan").arg(QString::fromUtf8(c.label)));
    }
}

} // namespace tailor::ui
