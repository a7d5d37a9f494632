#include "width_view.h"
#include "ui/plan_binding.h"
#include "ui/plan_store.h"
#include "ui/job_runner.h"
#include "ui/plots/plot_view.h"
#include "ui/resource_paths.h"
#include "core/compress/compression_plan.h"
#include "core/util/error.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>

namespace tailor::ui {

namespace {
struct WidthEval {
    double dense = 0, pruned = 0;
};

// Scores scaled by each block's largest, so every row of the map uses the whole
// colour range; the removed units are NaN (blank).
std::vector<std::vector<double>> rows(const std::vector<std::vector<double>>& scores, const std::vector<std::vector<int>>* removed)
{
    std::vector<std::vector<double>> out = scores;
    for (std::size_t b = 0; b < out.size(); ++b) {
        double mx = 0;
        for (double v : out[b])
            mx = std::max(mx, std::abs(v));
        for (double& v : out[b])
            v = mx > 0 ? v / mx : 0;
        if (removed)
            for (int u : (*removed)[b])
                out[b][std::size_t(u)] = std::nan("");
    }
    return out;
}
} // namespace

WidthView::WidthView(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner)
{
    criterion_ = new QComboBox(this);
    criterion_->addItems({"taylor", "activation", "magnitude"});
    calib_ = new QLineEdit(demoCalibText(), this);
    heads_ = new QSpinBox(this);
    channels_ = new QSpinBox(this);
    channels_->setSingleStep(8);
    perBlock_ = new QCheckBox(tr("Per block, by importance (GGUF export only)"), this);
    perBlock_->setToolTip(tr("Remove as many units in all, the lowest-scoring across blocks, so blocks differ in width. "
                             "llama.cpp loads such a GGUF (its deci architecture); an HF config.json holds one width."));
    score_ = new QPushButton(tr("Score units"), this);
    evaluate_ = new QPushButton(tr("Evaluate the cut"), this);
    save_ = new QPushButton(tr("Save plan…"), this);
    useInPlan_ = new QPushButton(tr("Use in plan"), this);
    useInPlan_->setToolTip(tr("This cut becomes the compression plan's width stage (Compress & Export)"));
    summary_ = new QLabel(tr("Open a model, then score its heads and channels."), this);
    summary_->setWordWrap(true);
    evalResult_ = new QLabel(this);
    evalResult_->setWordWrap(true);
    groupPlot_ = new PlotView(this);
    groupPlot_->setTitle(tr("KV groups (attention heads) per block — removed units blank"));
    channelPlot_ = new PlotView(this);
    channelPlot_->setTitle(tr("MLP channels per block — removed units blank"));

    auto* form = new QFormLayout;
    form->addRow(tr("Criterion"), criterion_);
    form->addRow(tr("Calibration"), calib_);
    form->addRow(tr("Heads removed per block"), heads_);
    form->addRow(tr("MLP channels removed per block"), channels_);
    form->addRow(perBlock_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(score_);
    buttons->addWidget(evaluate_);
    buttons->addWidget(save_);
    buttons->addWidget(useInPlan_);
    auto* left = new QVBoxLayout;
    left->addLayout(form);
    left->addLayout(buttons);
    left->addWidget(summary_);
    left->addWidget(evalResult_);
    left->addStretch(1);
    auto* plots = new QVBoxLayout;
    plots->addWidget(groupPlot_, 1);
    plots->addWidget(channelPlot_, 2);
    auto* top = new QHBoxLayout(this);
    top->addLayout(left, 1);
    top->addLayout(plots, 3);

    connect(score_, &QPushButton::clicked, this, &WidthView::runScores);
    connect(evaluate_, &QPushButton::clicked, this, &WidthView::runEvaluation);
    connect(heads_, &QSpinBox::valueChanged, this, &WidthView::updateCut);
    connect(channels_, &QSpinBox::valueChanged, this, &WidthView::updateCut);
    connect(perBlock_, &QCheckBox::toggled, this, &WidthView::updateCut);
    connect(useInPlan_, &QPushButton::clicked, this, [this] {
        if (store_ && plan_)
            store_->setWidth(plan_, criterion_->currentText().toStdString());
    });
    connect(save_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save width plan"), {}, tr("Plans (*.json)"));
        if (!path.isEmpty())
            savePlan(path);
    });
    setSession(nullptr);
    bindStore(store); // the one way a view reaches the plan
}

void WidthView::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    scores_.reset();
    plan_.reset();
    groupPlot_->clear();
    channelPlot_->clear();
    evalResult_->clear();
    const bool open = session_ != nullptr;
    score_->setEnabled(open);
    evaluate_->setEnabled(false);
    save_->setEnabled(false);
    useInPlan_->setEnabled(false);
    if (!open)
        return;
    const ModelSummary& m = session_->summary();
    const int g = int(m.n_head / m.n_head_kv);
    heads_->setRange(0, int(m.n_head) - g);
    heads_->setSingleStep(g); // whole KV groups keep GQA valid
    heads_->setValue(0);
    channels_->setRange(0, int(m.intermediate_size) - 1);
    channels_->setValue(0);
    summary_->setText(tr("%1 blocks, %2 heads in %3 KV groups of %4, %5 MLP channels each. Score the units to choose a cut.")
                          .arg(m.n_layer).arg(m.n_head).arg(m.n_head_kv).arg(g).arg(m.intermediate_size));
}

void WidthView::runScores()
{
    if (!session_)
        return;
    auto session = session_;
    const std::string calibPath = store_->plan().calib;
    const WidthCriterion criterion = widthCriterionFromName(criterion_->currentText().toStdString());
    score_->setEnabled(false);
    JobOptions o;
    o.supersedes = "width-scores";
    runner_->submit<WidthScores>(
        tr("Width importance (%1)").arg(criterion_->currentText()),
        [session, calibPath, criterion](const ProgressFn& p) {
            CalibOptions co;
            co.windows = 8;
            const TokenWindows calib = criterion == WidthCriterion::Magnitude ? TokenWindows{} : session->calibration(calibPath, co);
            return scoreWidth(session->model(), calib, criterion, p);
        },
        this,
        [this, session](const WidthScores& s) {
            if (session != session_)
                return;
            scores_ = s;
            updateCut();
            Q_EMIT scored();
        },
        [this](const JobEnd& end) {
            score_->setEnabled(session_ != nullptr);
            if (!end.done())
                summary_->setText(end.cancelled() ? tr("Scoring cancelled.")
                                                  : "<span style='color:#c0392b'>" + tr("Scoring failed: %1").arg(end.message.toHtmlEscaped()) + "</span>");
        },
        o);
}

// Choosing the lowest units is a sort per block: cheap enough for the UI thread.
void WidthView::updateCut()
{
    if (!session_ || !scores_)
        return;
    evalResult_->clear(); // it was the PPL of another cut
    const ModelSummary& m = session_->summary();
    QStringList blocks, groups, channels;
    for (int b = 0; b < int(m.n_layer); ++b)
        blocks << QString::number(b);
    for (int k = 0; k < int(m.n_head_kv); ++k)
        groups << QString::number(k);
    for (int c = 0; c < int(m.intermediate_size); ++c)
        channels << ((c % 64 == 0) ? QString::number(c) : QString());
    try {
        plan_ = perBlock_->isChecked() ? rankedWidthPlan(session_->model(), *scores_, heads_->value(), channels_->value())
                                       : uniformWidthPlan(session_->model(), *scores_, heads_->value(), channels_->value());
        const int64_t after = parametersAfterWidth(session_->model(), *plan_);
        const double share = double(m.parameters - after) / double(m.n_layer * m.block_parameters);
        summary_->setText(tr("Removes %1 of %2 heads and %3 of %4 MLP channels %9: %5 → %6 parameters, "
                             "%7 % of the block parameters (a depth cut of the same budget drops %8 blocks).")
                              .arg(heads_->value()).arg(m.n_head).arg(channels_->value()).arg(m.intermediate_size)
                              .arg(m.parameters).arg(after).arg(100 * share, 0, 'f', 1).arg(share * double(m.n_layer), 0, 'f', 1)
                              .arg(perBlock_->isChecked() ? tr("per block on average, where the scores are lowest across blocks "
                                                               "(blocks of different widths: export as GGUF)")
                                                          : tr("from every block")));
    } catch (const std::exception& e) {
        plan_.reset();
        summary_->setText("<span style='color:#c0392b'>" + QString::fromStdString(e.what()).toHtmlEscaped() + "</span>");
    }
    groupPlot_->setHeatmap(rows(scores_->groups, plan_ ? &plan_->groups : nullptr), blocks, groups, tr("score / block max"));
    channelPlot_->setHeatmap(rows(scores_->channels, plan_ ? &plan_->channels : nullptr), blocks, channels, tr("score / block max"));
    groupPlot_->setAxisLabels(tr("KV group"), tr("block"));
    channelPlot_->setAxisLabels(tr("channel"), tr("block"));
    evaluate_->setEnabled(plan_.has_value());
    save_->setEnabled(plan_.has_value());
    useInPlan_->setEnabled(plan_.has_value());
}

void WidthView::runEvaluation()
{
    if (!session_ || !plan_)
        return;
    auto session = session_;
    const WidthPlan plan = *plan_;
    evaluate_->setEnabled(false);
    JobOptions o;
    o.supersedes = "width-eval";
    runner_->submit<WidthEval>(
        tr("Width cut: perplexity"),
        [session, plan](const ProgressFn& p) {
            const std::vector<int32_t> ids = session->tokenizeFile(demoEvalText().toStdString());
            EvalOptions eo;
            eo.text_label = demoEvalText().toStdString();
            WidthEval e;
            e.dense = evaluatePerplexity(session->model(), ids, eo, [&p](const Progress& x) { return !p || p({0.5 * x.fraction, x.stage}); }).ppl;
            e.pruned = evaluatePerplexity(*applyWidthPlan(session->model(), plan), ids, eo,
                                          [&p](const Progress& x) { return !p || p({0.5 + 0.5 * x.fraction, x.stage}); })
                           .ppl;
            return e;
        },
        this,
        [this, plan](const WidthEval& e) {
            if (!plan_ || plan_->groups != plan.groups || plan_->channels != plan.channels) {
                evalResult_->setText(tr("The cut changed while it was evaluated: evaluate it again."));
                return;
            }
            evalResult_->setText(tr("Evaluation text PPL: dense %1, after the cut %2 (no healing).").arg(e.dense, 0, 'f', 4).arg(e.pruned, 0, 'f', 4));
            Q_EMIT evaluated();
        },
        [this](const JobEnd& end) {
            evaluate_->setEnabled(plan_.has_value());
            if (!end.done())
                evalResult_->setText(end.cancelled() ? tr("Evaluation cancelled.") : tr("Evaluation failed: %1").arg(end.message));
        },
        o);
}

void WidthView::bindStore(PlanStore* store)
{
    store_ = store;
    bindPlanText(calib_, store, PlanText::Calib);
}

void WidthView::savePlan(const QString& path) const
{
    if (!session_ || !plan_)
        throw Error("no width cut to save: score the units first");
    CompressionPlan p;
    p.model = session_->dir();
    p.width = *plan_;
    p.width_criterion = criterion_->currentText().toStdString();
    p.save(path.toStdString());
}

} // namespace tailor::ui
