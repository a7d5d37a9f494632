#include "lowrank_view.h"
#include "ui/plan_binding.h"
#include "ui/plan_store.h"
#include "ui/job_runner.h"
#include "ui/plots/plot_view.h"
#include "ui/models/ranks_model.h"
#include "ui/resource_paths.h"

#include "core/util/atomic_file.h"
#include "core/lowrank/factorize.h"
#include "core/lowrank/spectrum_cache.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSplitter>
#include <QItemSelectionModel>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>
#include <utility>

namespace tailor::ui {

namespace {

struct LowRankEval {
    double dense_ppl = 0, ppl = 0;
    int64_t params_before = 0, params_after = 0;
    std::vector<std::string> warnings;
};

QString percent(double share) { return QString::number(100 * share, 'f', 2) + " %"; }
} // namespace

LowRankView::LowRankView(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner)
{
    // left: the selected layer, global rank settings, the rank table, evaluation
    layer_ = new QComboBox(this);
    rank_ = new QSlider(Qt::Horizontal, this);
    rank_->setMinimum(1);
    figures_ = new QLabel(tr("Open a model."), this);
    figures_->setWordWrap(true);
    addOverlay_ = new QPushButton(tr("Overlay this layer"), this);
    addOverlay_->setToolTip(tr("Keep this layer's spectrum in the plot while you select others"));
    clearOverlay_ = new QPushButton(tr("Clear overlay"), this);
    auto* overlayRow = new QHBoxLayout;
    overlayRow->addWidget(addOverlay_);
    overlayRow->addWidget(clearOverlay_);

    energy_share_ = new QDoubleSpinBox(this);
    energy_share_->setRange(0.5, 1.0);
    energy_share_->setDecimals(3);
    energy_share_->setSingleStep(0.01);
    energy_share_->setValue(0.95);
    byEnergy_ = new QPushButton(tr("All layers by energy"), this);
    budget_ = new QDoubleSpinBox(this);
    budget_->setRange(0.05, 1.0);
    budget_->setDecimals(2);
    budget_->setSingleStep(0.05);
    budget_->setValue(0.8);
    budget_->setToolTip(tr("Share of each layer's parameters kept: k = ⌊b·mn/(m+n)⌋"));
    byBudget_ = new QPushButton(tr("All layers by budget"), this);
    resetRanks_ = new QPushButton(tr("Full rank"), this);
    saveRanks_ = new QPushButton(tr("Save ranks…"), this);
    auto* energyRow = new QHBoxLayout;
    energyRow->addWidget(energy_share_);
    energyRow->addWidget(byEnergy_);
    auto* budgetRow = new QHBoxLayout;
    budgetRow->addWidget(budget_);
    budgetRow->addWidget(byBudget_);
    auto* rankButtons = new QHBoxLayout;
    rankButtons->addWidget(resetRanks_);
    rankButtons->addWidget(saveRanks_);

    table_ = new QTableView(this);
    table_->verticalHeader()->setVisible(false);
    table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    table_->setWordWrap(false);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setToolTip(tr("Double-click a rank to edit it; empty or full = not factorized"));
    totals_ = new QLabel(this);
    totals_->setWordWrap(true);

    calib_ = new QLineEdit(demoCalibText(), this);
    whiten_ = new QCheckBox(tr("Whitened (activation-aware) SVD"), this);
    whiten_->setObjectName("plan.whiten"); // the store's one whitening choice (the Compress page shows it too)
    evaluate_ = new QPushButton(tr("Evaluate ranks"), this);
    evalResult_ = new QLabel(this);
    evalResult_->setWordWrap(true);

    auto* form = new QFormLayout;
    form->addRow(tr("Layer"), layer_);
    form->addRow(tr("Rank"), rank_);
    form->addRow(figures_);
    form->addRow(overlayRow);
    form->addRow(tr("Energy"), energyRow);
    form->addRow(tr("Budget"), budgetRow);
    form->addRow(rankButtons);
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->addLayout(form);
    leftLayout->addWidget(table_, 1);
    leftLayout->addWidget(totals_);
    auto* evalForm = new QFormLayout;
    evalForm->addRow(tr("Calibration"), calib_);
    evalForm->addRow(whiten_);
    evalForm->addRow(evaluate_);
    evalForm->addRow(evalResult_);
    leftLayout->addLayout(evalForm);
    left->setMinimumWidth(470);

    spectrum_ = new PlotView(this);
    spectrum_->setTitle(tr("Singular values (red: chosen rank; dashed: break-even rank)"));
    spectrum_->setLogY(true);
    spectrum_->setAxisLabels(tr("index"), tr("σ"));
    energy_ = new PlotView(this);
    energy_->setTitle(tr("Energy retained Σσ²(≤k) / Σσ²"));
    energy_->setAxisLabels(tr("rank k"), QString());
    overview_ = new PlotView(this);
    overview_->setTitle(tr("Rank / full rank for every layer (q k v o gate up down of each block)"));
    overview_->setAxisLabels(tr("layer"), tr("rank / full rank"));
    auto* plots = new QWidget(this);
    auto* grid = new QGridLayout(plots);
    grid->addWidget(spectrum_, 0, 0);
    grid->addWidget(energy_, 0, 1);
    grid->addWidget(overview_, 1, 0, 1, 2);

    auto* split = new QSplitter(this);
    split->addWidget(left);
    split->addWidget(plots);
    split->setStretchFactor(1, 1);
    auto* root = new QVBoxLayout(this);
    root->setContentsMargins(0, 0, 0, 0);
    root->addWidget(split);

    connect(layer_, &QComboBox::currentIndexChanged, this, [this] { showLayer(); });
    connect(rank_, &QSlider::valueChanged, this, [this] {
        const int i = layer_->currentIndex();
        if (updating_ || i < 0 || i >= int(spectra_.size()))
            return;
        const LayerSpectrum& s = spectra_[std::size_t(i)];
        const int64_t full = std::min(s.rows, s.cols);
        auto ranks = this->ranks();
        if (rank_->value() >= full)
            ranks.erase(s.name);
        else
            ranks[s.name] = rank_->value();
        store_->setRanks(ranks); // the store's change refreshes this view
        updateRank();
    });
    connect(addOverlay_, &QPushButton::clicked, this, [this] {
        const int i = layer_->currentIndex();
        if (i >= 0 && std::find(overlay_.begin(), overlay_.end(), i) == overlay_.end())
            overlay_.push_back(i);
        showLayer();
    });
    connect(clearOverlay_, &QPushButton::clicked, this, [this] {
        overlay_.clear();
        showLayer();
    });
    connect(byEnergy_, &QPushButton::clicked, this, [this] {
        try {
            setRanks(ranksByEnergy(spectra_, energy_share_->value()));
        } catch (const std::exception& e) {
            QMessageBox::warning(this, tr("Ranks by energy"), QString::fromStdString(e.what()));
        }
    });
    connect(byBudget_, &QPushButton::clicked, this, [this] { setRanks(ranksByBudget(spectra_, budget_->value())); });
    connect(resetRanks_, &QPushButton::clicked, this, [this] { setRanks({}); });
    connect(saveRanks_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save ranks"), "ranks.json", tr("JSON (*.json)"));
        if (path.isEmpty())
            return;
        try {
            saveRanks(path);
        } catch (const std::exception& e) {
            QMessageBox::warning(this, tr("Save ranks"), QString::fromStdString(e.what()));
        }
    });
    connect(evaluate_, &QPushButton::clicked, this, [this] { runEvaluation(); });
    // the spectra's failure message carries a Retry link
    connect(figures_, &QLabel::linkActivated, this, [this](const QString& link) {
        if (link == QLatin1String("retry") && session_)
            computeSpectra();
    });
    bindStore(store); // the one way a view reaches the plan
}

void LowRankView::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    ++revision_;
    spectra_.clear(); // (the ranks are the store's, reset by the main window for a new model)
    overlay_.clear();
    layer_->clear();
    if (ranksModel_)
        ranksModel_->setSpectra(nullptr);
    evalResult_->clear();
    spectraPending_ = session_ != nullptr;
    if (session_ && isVisible())
        computeSpectra();
}

// When the view is first shown for a session: all spectra of a 7B model take
// the better part of an hour on two cores.
void LowRankView::showEvent(QShowEvent* e)
{
    QWidget::showEvent(e);
    if (spectraPending_)
        computeSpectra();
}

void LowRankView::computeSpectra()
{
    spectraPending_ = false;
    const int rev = revision_;
    auto session = session_;
    figures_->setText(tr("Computing singular values…"));
    runner_->submit<std::vector<LayerSpectrum>>(
        tr("Singular-value spectra"),
        [session](const ProgressFn& p) { return cachedSpectra(*session, linearLayers(session->model(), ""), p); }, this,
        [this, rev](const std::vector<LayerSpectrum>& s) {
            if (rev != revision_)
                return;
            spectra_ = s;
            const bool was = std::exchange(updating_, true);
            const QSignalBlocker quiet(layer_); // showLayer runs once, below, when the table is complete
            for (const auto& l : spectra_)
                layer_->addItem(QString::fromStdString(l.name));
            ranksModel_->setSpectra(&spectra_);
            table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
            table_->horizontalHeader()->setSectionResizeMode(RanksModel::Layer, QHeaderView::Stretch);
            updating_ = was;
            refreshTotals();
            refreshOverview();
            showLayer();
            Q_EMIT spectraReady();
        },
        [this, rev](const JobEnd& end) {
            if (rev != revision_ || end.done())
                return;
            const QString why = end.cancelled() ? tr("Computing singular values was cancelled.")
                                                : tr("Singular values failed: %1").arg(end.message.toHtmlEscaped());
            figures_->setText(why + QStringLiteral(" <a href=\"retry\">") + tr("Retry") + QStringLiteral("</a>"));
        },
        JobOptions{JobLane::Long, QStringLiteral("spectra")});
}

const std::map<std::string, int64_t>& LowRankView::ranks() const
{
    static const std::map<std::string, int64_t> none;
    return store_ ? store_->plan().ranks : none;
}

int64_t LowRankView::rankOf(std::size_t i) const { return ranksModel_->rankOf(int(i)); }

void LowRankView::bindStore(PlanStore* store)
{
    store_ = store;
    bindPlanText(calib_, store, PlanText::Calib);
    // The table is a view of the store's ranks through RanksModel, which
    // checks each edit and writes it to the store.
    ranksModel_ = new RanksModel(store, this);
    ranksModel_->setSpectra(spectra_.empty() ? nullptr : &spectra_);
    table_->setModel(ranksModel_);
    connect(ranksModel_, &RanksModel::refused, this, [this](const QString& why) {
        // said inline, not in a modal box, so typing on through the table is not interrupted
        totals_->setText(QStringLiteral("<span style='color:#c0392b'>%1</span>").arg(why.toHtmlEscaped()));
    });
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& cur) {
        if (!updating_ && cur.row() >= 0 && cur.row() < layer_->count())
            layer_->setCurrentIndex(cur.row());
    });
    // The ranks live in the store only: edits here go there, and whatever
    // sets them (this view, a loaded plan file) is shown from there, as they
    // are: not filtered by the spectra, which may not exist yet (the plan's
    // validation judges them when it runs).
    const auto showWhiten = [this, store] {
        const QSignalBlocker quiet(whiten_);
        whiten_->setChecked(store->plan().whiten);
    };
    showWhiten();
    connect(whiten_, &QCheckBox::toggled, store, &PlanStore::setWhiten);
    connect(store, &PlanStore::changed, this, [this, showWhiten](PlanStore::Parts parts) {
        if (parts & PlanStore::Whiten)
            showWhiten();
        if (!(parts & PlanStore::Ranks))
            return;
        refreshTotals();
        refreshOverview();
        showLayer();
        Q_EMIT ranksChanged();
    });
}

void LowRankView::setRanks(const std::map<std::string, int64_t>& ranks)
{
    std::map<std::string, int64_t> kept;
    for (const auto& [name, k] : ranks) {
        const auto it = std::find_if(spectra_.begin(), spectra_.end(), [&](const LayerSpectrum& s) { return s.name == name; });
        if (it != spectra_.end() && k >= 1 && k < std::min(it->rows, it->cols))
            kept[name] = k; // full rank = not factorized
    }
    store_->setRanks(kept);
}

void LowRankView::saveRanks(const QString& path) const
{
    QJsonObject o;
    for (const auto& [name, k] : ranks())
        o[QString::fromStdString(name)] = double(k);
    writeFileAtomically(path.toStdString(), QJsonDocument(o).toJson());
}

void LowRankView::showLayer()
{
    const int i = layer_->currentIndex();
    if (i < 0 || i >= int(spectra_.size()))
        return;
    const LayerSpectrum& s = spectra_[std::size_t(i)];
    std::vector<std::vector<double>> xs, ys;
    QStringList names;
    auto addSpectrum = [&](const LayerSpectrum& l) {
        std::vector<double> idx, sv;
        for (std::size_t k = 0; k < l.singular_values.size(); ++k) {
            idx.push_back(double(k + 1));
            sv.push_back(l.singular_values[k]);
        }
        xs.push_back(idx);
        ys.push_back(sv);
        names << QString::fromStdString(l.name).remove("model.").remove(".weight");
    };
    addSpectrum(s);
    for (int o : overlay_)
        if (o != i && o < int(spectra_.size()))
            addSpectrum(spectra_[std::size_t(o)]);
    spectrum_->setCurves(xs, ys, names);
    std::vector<double> ks, energy;
    for (std::size_t k = 0; k < s.singular_values.size(); ++k) {
        ks.push_back(double(k + 1));
        energy.push_back(s.energyAt(int64_t(k + 1)));
    }
    energy_->setCurves({ks}, {energy}, {tr("energy")});
    const bool was = std::exchange(updating_, true);
    rank_->setMaximum(int(std::min(s.rows, s.cols)));
    rank_->setValue(int(rankOf(std::size_t(i))));
    if (ranksModel_ && table_->currentIndex().row() != i)
        table_->setCurrentIndex(ranksModel_->index(i, RanksModel::Rank));
    updating_ = was;
    updateRank();
}

void LowRankView::updateRank()
{
    const int i = layer_->currentIndex();
    if (i < 0 || i >= int(spectra_.size()))
        return;
    const LayerSpectrum& s = spectra_[std::size_t(i)];
    const int64_t k = rank_->value();
    const int64_t before = s.rows * s.cols, after = k * (s.rows + s.cols);
    const auto rankText = [](int64_t r) { return r > 0 ? QString::number(r) : QStringLiteral(">top-k"); };
    QString text = tr("<b>%1</b><br>%2 × %3, effective rank %4<br>rank %5: energy retained <b>%6</b><br>"
                      "parameters %7 → %8 (<b>%9 %</b> saved)<br>break-even rank %10; 90/95/99 % energy at %11 / %12 / %13")
                       .arg(QString::fromStdString(s.name))
                       .arg(s.rows)
                       .arg(s.cols)
                       .arg(std::isnan(s.effective_rank) ? QStringLiteral("n/a") : QString::number(s.effective_rank, 'f', 1))
                       .arg(k)
                       .arg(percent(s.energyAt(k)))
                       .arg(before)
                       .arg(after)
                       .arg(100.0 * double(before - after) / double(before), 0, 'f', 1)
                       .arg(s.break_even_rank)
                       .arg(rankText(s.rank90))
                       .arg(rankText(s.rank95))
                       .arg(rankText(s.rank99));
    if (k >= std::min(s.rows, s.cols))
        text += tr("<br><i>full rank: this layer is not factorized</i>");
    else if (k > s.break_even_rank)
        text += tr("<br><i>above break-even: A·B has more parameters than W</i>");
    if (s.randomized)
        text += tr("<br>randomized top %1, residual %2").arg(s.singular_values.size()).arg(s.residual, 0, 'g', 3);
    figures_->setText(text);
    spectrum_->setVerticalLines({double(k)}, {double(s.break_even_rank)});
    energy_->setVerticalLines({double(k)}, {double(s.break_even_rank)});
}

void LowRankView::refreshTotals()
{
    int64_t before = 0, after = 0, all = 0;
    for (int i = 0; i < ranksModel_->rowCount(); ++i) {
        const LayerSpectrum& s = spectra_[std::size_t(i)];
        const int64_t mn = s.rows * s.cols;
        all += mn;
        if (ranksModel_->rankOf(i) < std::min(s.rows, s.cols)) // factorized
            before += mn, after += ranksModel_->parametersAt(i);
    }
    totals_->setText(ranks().empty() ? tr("No layer factorized.")
                                     : tr("%1 layers factorized: %2 → %3 parameters; %4 of all linear-layer parameters saved")
                                           .arg(ranks().size())
                                           .arg(before)
                                           .arg(after)
                                           .arg(percent(double(before - after) / double(std::max<int64_t>(1, all)))));
}

void LowRankView::refreshOverview()
{
    std::vector<double> x, r90, r95, r99, chosen, breakEven;
    for (std::size_t i = 0; i < spectra_.size(); ++i) {
        const auto& s = spectra_[i];
        const double full = double(std::min(s.rows, s.cols));
        const auto share = [&](int64_t r) { return r > 0 ? double(r) / full : std::nan(""); };
        x.push_back(double(i));
        r90.push_back(share(s.rank90));
        r95.push_back(share(s.rank95));
        r99.push_back(share(s.rank99));
        breakEven.push_back(double(s.break_even_rank) / full);
        chosen.push_back(double(rankOf(i)) / full);
    }
    overview_->setCurves({x, x, x, x, x}, {r90, r95, r99, breakEven, chosen},
                         {tr("90 % energy"), tr("95 % energy"), tr("99 % energy"), tr("break-even"), tr("chosen rank")});
}

void LowRankView::runEvaluation()
{
    if (!session_ || ranks().empty()) {
        evalResult_->setText(tr("Choose ranks first (slider, table, energy or budget)."));
        return;
    }
    auto session = session_;
    const auto ranks = this->ranks();
    const bool whiten = store_->plan().whiten;
    const std::string calibPath = store_->plan().calib;
    const int rev = revision_;
    evaluate_->setEnabled(false);
    evalResult_->setText(tr("Factorizing %1 layers…").arg(ranks.size()));
    evalJob_ = runner_->submit<LowRankEval>(
        tr("Low-rank evaluation"),
        [session, ranks, whiten, calibPath](const ProgressFn& p) {
            const TokenWindows calib = session->calibration(calibPath);
            const LowRankResult r = factorizeModel(session->model(), calib, ranks, whiten, p);
            EvalOptions eo;
            eo.seq_len = calib.seq_len;
            LowRankEval e;
            e.dense_ppl = evaluateWindows(session->model(), calib, eo).ppl;
            e.ppl = evaluateWindows(*r.model, calib, eo).ppl;
            e.params_before = r.params_before;
            e.params_after = r.params_after;
            e.warnings = r.warnings;
            return e;
        },
        this,
        [this, rev, whiten](const LowRankEval& e) {
            if (rev != revision_)
                return;
            lastCalibPpl_ = e.ppl;
            QString text = tr("%1 SVD: calibration PPL <b>%2</b> (dense %3); factorized layers %4 → %5 parameters")
                               .arg(whiten ? tr("Whitened") : tr("Plain"))
                               .arg(e.ppl, 0, 'f', 4)
                               .arg(e.dense_ppl, 0, 'f', 4)
                               .arg(e.params_before)
                               .arg(e.params_after);
            for (const auto& w : e.warnings)
                text += "<br>" + QString::fromStdString(w).toHtmlEscaped();
            evalResult_->setText(text);
            Q_EMIT evaluated();
        },
        [this](const JobEnd& end) {
            evaluate_->setEnabled(true);
            if (end.failed())
                evalResult_->setText(tr("Evaluation failed: %1").arg(end.message.toHtmlEscaped()));
            else if (end.cancelled())
                evalResult_->setText(tr("Evaluation cancelled."));
        },
        JobOptions{JobLane::Long, QStringLiteral("lowrank-eval")});
}

} // namespace tailor::ui
