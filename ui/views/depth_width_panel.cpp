#include "depth_width_panel.h"
#include "ui/job_runner.h"
#include "ui/plots/plot_view.h"
#include "core/analysis/block_importance.h"
#include "core/model/model_session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

namespace tailor::ui {

namespace {
const QStringList kRows{QT_TRANSLATE_NOOP("DepthWidthPanel", "removed"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "block parameters removed"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "PPL (evaluation text)"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "KLD from dense"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "top-1 agreement"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "task accuracy"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "parameters"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "decode tokens/s (batch 1)"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "prefill tokens/s (batch 1)"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "decode speed-up"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "prefill tokens/s at batch 8 (evaluation)"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "decode tokens/s at batch 8"),
                        QT_TRANSLATE_NOOP("DepthWidthPanel", "batch-8 speed-up")};

QString num(double v, int prec, const QString& suffix = {})
{
    return std::isfinite(v) ? QString::number(v, 'f', prec) + suffix : QStringLiteral("–");
}
} // namespace

DepthWidthPanel::DepthWidthPanel(JobRunner* runner, std::function<DepthWidthOptions()> fromPlan, QWidget* parent)
    : QWidget(parent), runner_(runner), fromPlan_(std::move(fromPlan))
{
    auto* root = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    budget_ = new QDoubleSpinBox(this);
    budget_->setRange(1, 90);
    budget_->setDecimals(1);
    budget_->setSuffix(tr(" % of the block parameters"));
    budget_->setValue(25);
    blockCriterion_ = new QComboBox(this);
    for (const auto& c : blockCriteria())
        blockCriterion_->addItem(QString::fromUtf8(c.key));
    blockCriterion_->setCurrentText(QString::fromUtf8(criterionName(Criterion::Bi))); // ShortGPT's default: one pass
    blockCriterion_->setToolTip(tr("How the depth arm chooses its blocks (Block Influence, perplexity without the block, Taylor+)"));
    unitCriterion_ = new QComboBox(this);
    unitCriterion_->addItems({"taylor", "activation", "magnitude"});
    unitCriterion_->setToolTip(tr("How the width arm scores KV groups and MLP channels"));
    heal_ = new QCheckBox(tr("heal both with the plan's healing settings"), this);
    heal_->setChecked(true);
    compare_ = new QPushButton(tr("Build and compare both arms"), this);
    form->addRow(tr("Budget"), budget_);
    form->addRow(tr("Depth: blocks by"), blockCriterion_);
    form->addRow(tr("Width: units by"), unitCriterion_);
    form->addRow(heal_);
    form->addRow(compare_);
    auto* top = new QHBoxLayout;
    top->addLayout(form);
    speedPlot_ = new PlotView(this);
    speedPlot_->setTitle(tr("Decode tokens/s at batch 1 (measured)"));
    speedPlot_->setPlaceholder(tr("not computed"));
    top->addWidget(speedPlot_, 1);
    root->addLayout(top);
    table_ = new QTableWidget(int(kRows.size()), 3, this);
    table_->setHorizontalHeaderLabels({tr("dense"), tr("depth"), tr("width")});
    QStringList rows;
    for (const auto& r : kRows)
        rows << tr(r.toUtf8().constData());
    table_->setVerticalHeaderLabels(rows);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setWordWrap(true);
    root->addWidget(table_, 1);
    summary_ = new QLabel(tr("Both arms are built from the calibration text and judged on the evaluation text (and task) of the plan."), this);
    summary_->setWordWrap(true);
    root->addWidget(summary_);
    connect(compare_, &QPushButton::clicked, this, &DepthWidthPanel::compare);
}

void DepthWidthPanel::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    ++revision_;
    result_.reset();
    table_->clearContents();
    speedPlot_->setBars({}, {}, {});
    speedPlot_->setPlaceholder(tr("not computed"));
}

void DepthWidthPanel::compare()
{
    if (!session_) {
        summary_->setText(tr("Open a model first."));
        return;
    }
    DepthWidthOptions o;
    try {
        o = fromPlan_();
    } catch (const std::exception& e) {
        summary_->setText(tr("The plan: %1").arg(QString::fromUtf8(e.what())));
        return;
    }
    o.budget = budget_->value() / 100.0;
    o.block_criterion = blockCriterion_->currentText().toStdString();
    o.unit_criterion = unitCriterion_->currentText().toStdString();
    if (!heal_->isChecked())
        o.heal.reset();
    const auto s = session_;
    const int rev = ++revision_;
    compare_->setEnabled(false);
    summary_->setText(tr("Building both arms…"));
    runner_->submit<DepthWidthComparison>(
        tr("Depth against width at %1 %").arg(budget_->value()),
        [s, o](const ProgressFn& p) { return compareDepthWidth(*s, o, p); }, this,
        [this, rev](const DepthWidthComparison& c) {
            if (rev != revision_)
                return;
            result_ = c;
            show(c);
            Q_EMIT compared();
        },
        [this, rev](const JobEnd& e) {
            if (rev != revision_)
                return;
            compare_->setEnabled(true);
            if (e.failed()) {
                summary_->setText(tr("Comparison failed: %1").arg(e.message));
                Q_EMIT message(tr("depth against width failed: %1").arg(e.message));
            } else if (e.cancelled())
                summary_->setText(tr("Cancelled."));
        },
        JobOptions{JobLane::Long, QStringLiteral("depth-vs-width")});
}

void DepthWidthPanel::show(const DepthWidthComparison& c)
{
    const double dense = c.arms.empty() ? 0 : c.arms[0].speed.decode.median;
    const double denseBatch = c.arms.empty() ? 0 : c.arms[0].batch.decode.median;
    std::vector<double> speeds;
    QStringList labels;
    for (int col = 0; col < int(c.arms.size()); ++col) {
        const DepthWidthArm& a = c.arms[std::size_t(col)];
        const StageReport& r = a.result;
        const QStringList cells{QString::fromStdString(a.description),
                                num(100 * a.block_share_removed, 1, " %"),
                                num(r.ppl, 4),
                                num(r.kld_mean, 4),
                                num(100 * r.top1_agreement, 2, " %"),
                                std::isfinite(r.task_acc) ? QString("%1 ± %2").arg(r.task_acc, 0, 'f', 3).arg(r.task_acc_stderr, 0, 'f', 3) : "–",
                                QString::number(r.parameters),
                                QString::fromStdString(speedRange(a.speed.decode, 1)),
                                num(a.speed.prefill.median, 0),
                                dense > 0 ? num(a.speed.decode.median / dense, 3, "×") : "–",
                                a.batch.batch > 0 ? num(a.batch.prefill.median, 0) : "–",
                                a.batch.batch > 0 ? QString::fromStdString(speedRange(a.batch.decode, 1))
                                                  : "–",
                                denseBatch > 0 ? num(a.batch.decode.median / denseBatch, 3, "×") : "–"};
        for (int row = 0; row < cells.size(); ++row)
            table_->setItem(row, col, new QTableWidgetItem(cells[row]));
        speeds.push_back(a.speed.decode.median);
        labels << QString::fromStdString(a.name);
    }
    speedPlot_->setPlaceholder({});
    speedPlot_->setBars(speeds, labels, {BarStyle::Greyed, BarStyle::Marked, BarStyle::Normal}, dense, tr("dense"));
    if (c.arms.size() == 3)
        summary_->setText(tr("At %1 % of the block parameters: depth keeps KLD %2 and decodes %3× as fast as dense; width keeps KLD %4 "
                             "and decodes %5× as fast. The comparison goes into the report of the next export.")
                              .arg(100 * c.budget, 0, 'f', 1)
                              .arg(c.arms[1].result.kld_mean, 0, 'f', 4)
                              .arg(dense > 0 ? c.arms[1].speed.decode.median / dense : NAN, 0, 'f', 3)
                              .arg(c.arms[2].result.kld_mean, 0, 'f', 4)
                              .arg(dense > 0 ? c.arms[2].speed.decode.median / dense : NAN, 0, 'f', 3) +
                          (denseBatch > 0 ? tr(" At batch %1 (evaluation, serving): depth %2×, width %3×.")
                                                .arg(c.arms[0].batch.batch)
                                                .arg(c.arms[1].batch.decode.median / denseBatch, 0, 'f', 3)
                                                .arg(c.arms[2].batch.decode.median / denseBatch, 0, 'f', 3)
                                          : QString()));
    Q_EMIT message(tr("depth against width: %1").arg(summary_->text()));
}

} // namespace tailor::ui
