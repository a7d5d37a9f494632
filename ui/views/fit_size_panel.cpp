#include "fit_size_panel.h"
#include "ui/job_runner.h"
#include "ui/plan_store.h"
#include "ui/plots/plot_view.h"
#include "ui/resource_paths.h"

#include "core/heal/linear_heal.h"
#include "core/model/model_session.h"
#include "core/util/error.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace tailor::ui {

namespace {
// the series of the chart, in this order; the last one is the chosen plan's star
const char* const kKinds[] = {"quant", "depth+quant", "width+quant"};
const QColor kColours[] = {QColor(70, 130, 180), QColor(220, 110, 30), QColor(60, 160, 90)};
// llama-quantize's sizes of the dense model, measured too when the frontier is on
const char* const kFrontierTypes[] = {"q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k"};

} // namespace

FitSizePanel::FitSizePanel(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner), store_(store)
{
    target_ = new QComboBox(this);
    target_->setEditable(true);
    target_->addItems({"q4_k_m", "q3_k_m", "q2_k", "q5_k_m", "q6_k"});
    target_->setToolTip(tr("The GGUF file size: a llama-quantize type (the size of its file of this model) or bytes (1.2M, 950K)"));
    depth_ = new QCheckBox(tr("drop blocks (each span healed by a fitted linear map)"), this);
    depth_->setChecked(true);
    width_ = new QCheckBox(tr("cut MLP channels"), this);
    width_->setChecked(true);
    frontier_ = new QCheckBox(tr("also measure at llama-quantize's sizes (the frontier)"), this);
    frontier_->setChecked(true);
    maxWindows_ = new QSpinBox(this);
    maxWindows_->setRange(0, 100000);
    maxWindows_->setSpecialValueText(tr("all"));
    maxWindows_->setToolTip(tr("Windows of 256 tokens of the evaluation text each measured plan is judged on"));
    search_ = new QPushButton(tr("Fit to size"), this);
    auto* form = new QFormLayout;
    form->addRow(tr("Target"), target_);
    form->addRow(tr("Axes"), depth_);
    form->addRow(QString(), width_);
    form->addRow(QString(), frontier_);
    form->addRow(tr("Evaluation windows"), maxWindows_);
    form->addRow(search_);
    chart_ = new PlotView(this);
    chart_->setTitle(tr("Measured plans: GGUF size against KLD from the dense model (click one to use it)"));
    chart_->setAxisLabels(tr("file MB"), tr("KLD mean"));
    chart_->setLogY(true);
    chart_->setPlaceholder(tr("not searched yet"));
    summary_ = new QLabel(tr("Types for every tensor, blocks to drop and MLP channels to cut, chosen together for one file size; "
                             "calibration and evaluation texts are the plan's."),
                          this);
    summary_->setWordWrap(true);
    auto* top = new QHBoxLayout;
    top->addLayout(form);
    top->addWidget(summary_, 1);
    auto* root = new QVBoxLayout(this);
    root->addLayout(top);
    root->addWidget(chart_, 1);
    connect(search_, &QPushButton::clicked, this, &FitSizePanel::search);
    connect(chart_, &PlotView::pointClicked, this, &FitSizePanel::pick);
}

void FitSizePanel::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    ++revision_;
    result_.reset();
    points_.clear();
    chart_->setScatter({});
    chart_->setPlaceholder(tr("not searched yet"));
}

void FitSizePanel::search()
{
    if (!session_) {
        summary_->setText(tr("Open a model first."));
        return;
    }
    const CompressionPlan plan = store_->plan();
    const std::string calib = plan.calib.empty() ? demoCalibText().toStdString() : plan.calib;
    const std::string evalText = plan.eval_text.empty() ? calib : plan.eval_text;
    const std::string target = target_->currentText().trimmed().toStdString();
    JointOptions o;
    o.depth = depth_->isChecked();
    o.width = width_->isChecked();
    const bool frontier = frontier_->isChecked();
    const int64_t maxWindows = maxWindows_->value();
    const auto s = session_;
    const int rev = ++revision_;
    search_->setEnabled(false);
    summary_->setText(tr("Searching…"));
    runner_->submit<JointResult>(
        tr("Fit to %1").arg(QString::fromStdString(target)),
        [s, o, calib, evalText, target, frontier, maxWindows](const ProgressFn& p) {
            JointOptions opt = o;
            const Model& m = s->model();
            opt.target_bytes = fileBudgetBytes(m, target, nullptr);
            if (frontier)
                for (const char* t : kFrontierTypes)
                    opt.frontier_bytes.push_back(fileBudgetBytes(m, t, nullptr));
            const TokenWindows healWindows = linearHealWindows(*s, calib, LinearHealOptions{});
            opt.heal_windows = &healWindows;
            const TokenWindows eval = cutWindows(s->tokenizeFile(evalText), 256, maxWindows, evalText);
            return searchJoint(m, s->calibration(calib), eval, opt, p);
        },
        this,
        [this, rev](const JointResult& r) {
            if (rev != revision_)
                return;
            result_ = r;
            show(*result_);
            Q_EMIT searched();
        },
        [this, rev](const JobEnd& e) {
            if (rev != revision_)
                return;
            search_->setEnabled(true);
            if (e.failed())
                summary_->setText(tr("Fit to size failed: %1").arg(e.message));
            else if (e.cancelled())
                summary_->setText(tr("Fit to size cancelled."));
        },
        JobOptions{JobLane::Long, QStringLiteral("fit-size")});
}

void FitSizePanel::show(const JointResult& r)
{
    points_.assign(4, {});
    std::vector<ScatterSeries> series(4);
    const QString names[] = {tr("quant only"), tr("depth + quant"), tr("width + quant")};
    for (int k = 0; k < 3; ++k) {
        series[std::size_t(k)] = {names[k], ScatterSeries::Shape::Points, {}, {}, {}, kColours[k]};
    }
    series[3] = {tr("chosen"), ScatterSeries::Shape::Highlight, {}, {}, {}, {}};
    const auto add = [&](const JointPlan& p) {
        if (!p.measured)
            return;
        for (int k = 0; k < 3; ++k)
            if (p.kind == kKinds[k]) {
                auto& sr = series[std::size_t(k)];
                sr.x.push_back(double(p.file_bytes) / 1e6);
                sr.y.push_back(p.result.kld_mean);
                // short before the colon (written beside the point), the whole after it (hover)
                QString shortLabel = QStringLiteral("types");
                if (!p.drop.empty()) {
                    QStringList b;
                    for (int x : p.drop)
                        b << QString::number(x);
                    shortLabel = tr("drop %1").arg(b.join(QLatin1Char(',')));
                } else if (p.width) {
                    shortLabel = tr("MLP -%1").arg(p.width->channels.empty() ? 0 : p.width->channels[0].size());
                }
                sr.labels << shortLabel + QStringLiteral(": ") + QString::fromStdString(p.label) + QStringLiteral(", KLD %1, top-1 %2 %, PPL %3")
                                                                   .arg(p.result.kld_mean, 0, 'g', 4)
                                                                   .arg(100 * p.result.top1_agreement, 0, 'f', 2)
                                                                   .arg(p.result.ppl, 0, 'f', 4);
                points_[std::size_t(k)].push_back(&p);
            }
    };
    for (const auto& p : r.plans)
        add(p);
    for (const auto& p : r.frontier)
        add(p);
    const JointPlan& best = r.plans[std::size_t(r.chosen)];
    series[3].x = {double(best.file_bytes) / 1e6};
    series[3].y = {best.result.kld_mean};
    series[3].labels = {QString::fromStdString(best.label)};
    points_[3] = {&best};
    chart_->setPlaceholder(QString());
    chart_->setScatter(series);
    const JointPlan* quantOnly = nullptr;
    for (const auto& p : r.plans)
        if (p.kind == "quant" && p.measured)
            quantOnly = &p;
    QString text = tr("Chosen for %1 bytes: <b>%2</b>, %3 bytes, KLD %4, top-1 %5 %, PPL %6.")
                       .arg(r.target_bytes)
                       .arg(QString::fromStdString(best.label).toHtmlEscaped())
                       .arg(best.file_bytes)
                       .arg(best.result.kld_mean, 0, 'g', 4)
                       .arg(100 * best.result.top1_agreement, 0, 'f', 2)
                       .arg(best.result.ppl, 0, 'f', 4);
    text += quantOnly ? tr(" Types alone: KLD %1.").arg(quantOnly->result.kld_mean, 0, 'g', 4)
                      : tr(" Types alone do not reach this size.");
    text += tr(" Rank correlation of predicted and measured KLD: %1. Click a point to put its plan in the Compress page.")
                .arg(r.rank_correlation, 0, 'f', 3);
    summary_->setText(text);
}

const JointPlan* FitSizePanel::pointAt(int series, int index) const
{
    if (series < 0 || series >= int(points_.size()) || index < 0 || index >= int(points_[std::size_t(series)].size()))
        return nullptr;
    return points_[std::size_t(series)][std::size_t(index)];
}

void FitSizePanel::pick(int series, int index)
{
    const JointPlan* p = pointAt(series, index);
    if (!p)
        return;
    CompressionPlan base = store_->plan();
    if (base.calib.empty())
        base.calib = demoCalibText().toStdString(); // what the search was fitted on
    base.gguf.reset(); // the search used no importance matrix
    const CompressionPlan plan = withJointPlan(base, *p, JointOptions{});
    store_->setPlan(plan);
    summary_->setText(tr("Picked <b>%1</b> (%2 bytes): its blocks, width, healing and GGUF types are the plan now; export as GGUF.")
                          .arg(QString::fromStdString(p->label).toHtmlEscaped())
                          .arg(p->file_bytes));
    Q_EMIT picked(QString::fromStdString(p->label));
}

} // namespace tailor::ui
