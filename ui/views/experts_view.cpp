#include "experts_view.h"
#include "ui/job_runner.h"
#include "ui/plan_store.h"
#include "ui/plots/plot_view.h"
#include "core/compress/compression_plan.h"
#include "core/model/model_session.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace tailor::ui {

ExpertsView::ExpertsView(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner), store_(store)
{
    criterion_ = new QComboBox(this);
    criterion_->addItem(tr("frequency"), "freq");
    criterion_->addItem(tr("REAP (router weight × output size)"), "reap");
    keep_ = new QSpinBox(this);
    measure_ = new QPushButton(tr("Measure routing"), this);
    useInPlan_ = new QPushButton(tr("Use in plan"), this);
    useInPlan_->setToolTip(tr("This cut becomes the compression plan's experts stage (Compress & Export)"));
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    plot_ = new PlotView(this);
    plot_->setTitle(tr("Share of tokens routed to each expert — removed experts blank"));

    auto* form = new QFormLayout;
    form->addRow(tr("Rank experts by"), criterion_);
    form->addRow(tr("Experts kept per block"), keep_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(measure_);
    buttons->addWidget(useInPlan_);
    auto* left = new QVBoxLayout;
    left->addLayout(form);
    left->addLayout(buttons);
    left->addWidget(summary_);
    left->addStretch(1);
    auto* top = new QHBoxLayout(this);
    top->addLayout(left, 1);
    top->addWidget(plot_, 3);

    connect(measure_, &QPushButton::clicked, this, &ExpertsView::runRouting);
    connect(keep_, &QSpinBox::valueChanged, this, &ExpertsView::updateCut);
    connect(plot_, &PlotView::cellClicked, this, &ExpertsView::toggle);
    connect(criterion_, &QComboBox::currentIndexChanged, this, &ExpertsView::updateCut);
    connect(useInPlan_, &QPushButton::clicked, this, [this] {
        if (kept_.empty())
            return;
        const bool cut = keep_->value() < keep_->maximum();
        store_->setExperts(cut ? std::optional<PlanExperts>(PlanExperts{kept_, 0, criterion_->currentData().toString().toStdString()})
                               : std::nullopt);
    });
    setSession(nullptr);
}

void ExpertsView::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    routing_.reset();
    kept_.clear();
    plot_->clear();
    plot_->setPlaceholder({});
    useInPlan_->setEnabled(false);
    const bool moe = session_ && session_->summary().n_expert > 0;
    measure_->setEnabled(moe);
    keep_->setEnabled(moe);
    if (!session_) {
        summary_->setText(tr("Open a mixture-of-experts model (qwen3_moe, mixtral) to see how its router uses the experts."));
        return;
    }
    const ModelSummary& m = session_->summary();
    if (!moe) {
        summary_->setText(tr("This %1 model is dense: it has no experts to route to.").arg(QString::fromStdString(m.model_type)));
        plot_->setPlaceholder(tr("a dense model has no experts"));
        return;
    }
    keep_->setRange(int(m.n_expert_used), int(m.n_expert));
    keep_->setValue(int(m.n_expert));
    summary_->setText(tr("%1 blocks of %2 experts, %3 chosen per token. Measure the routing on the calibration text.")
                          .arg(m.n_layer).arg(m.n_expert).arg(m.n_expert_used));
}

void ExpertsView::runRouting()
{
    if (!session_)
        return;
    auto session = session_;
    const std::string calibPath = store_->plan().calib;
    measure_->setEnabled(false);
    JobOptions o;
    o.supersedes = "expert-routing";
    runner_->submit<ExpertRouting>(
        tr("Expert routing"),
        [session, calibPath](const ProgressFn& p) {
            CalibOptions co;
            co.windows = 8;
            return measureRouting(session->model(), session->calibration(calibPath, co), p);
        },
        this,
        [this, session](const ExpertRouting& r) {
            if (session != session_)
                return;
            routing_ = r;
            updateCut();
            Q_EMIT measured();
        },
        [this](const JobEnd& end) {
            measure_->setEnabled(session_ != nullptr);
            if (!end.done())
                summary_->setText(end.cancelled() ? tr("Routing cancelled.")
                                                  : "<span style='color:#c0392b'>" + tr("Routing failed: %1").arg(end.message.toHtmlEscaped()) + "</span>");
        },
        o);
}

// Ranking a block's experts is a sort of a few numbers: the UI thread does it.
void ExpertsView::updateCut()
{
    if (!session_ || !routing_)
        return;
    kept_ = expertsToKeep(*routing_, keep_->value(), expertCriterionFromName(criterion_->currentData().toString().toStdString()));
    redraw();
}

void ExpertsView::toggle(int block, int expert)
{
    if (!routing_ || block < 0 || block >= int(kept_.size()))
        return;
    std::vector<int>& k = kept_[std::size_t(block)];
    const auto it = std::find(k.begin(), k.end(), expert);
    if (it != k.end())
        k.erase(it);
    else
        k.insert(std::upper_bound(k.begin(), k.end(), expert), expert);
    redraw();
}

void ExpertsView::redraw()
{
    const ExpertRouting& r = *routing_;
    std::vector<std::vector<double>> share(std::size_t(r.blocks), std::vector<double>(std::size_t(r.experts), std::nan("")));
    QStringList blocks, experts, never;
    for (int b = 0; b < int(r.blocks); ++b) {
        blocks << QString::number(b);
        for (int e : kept_[std::size_t(b)])
            share[std::size_t(b)][std::size_t(e)] = r.frequency(b, e);
        for (int e : r.neverChosen(b))
            never << tr("block %1: expert %2").arg(b).arg(e);
    }
    for (int e = 0; e < int(r.experts); ++e)
        experts << QString::number(e);
    plot_->setHeatmap(share, blocks, experts, tr("share of tokens"), 0.0);
    plot_->setAxisLabels(tr("expert"), tr("block"));
    int64_t removed = 0;
    QString problem;
    for (std::size_t b = 0; b < kept_.size(); ++b) {
        removed += r.experts - int64_t(kept_[b].size());
        if (kept_[b].size() != kept_[0].size())
            problem = tr("blocks 0 and %1 keep %2 and %3 experts: every block must keep as many (a GGUF holds one expert count).")
                          .arg(b).arg(kept_[0].size()).arg(kept_[b].size());
        else if (int64_t(kept_[b].size()) < r.used)
            problem = tr("block %1 keeps %2 experts, fewer than the %3 a token uses.").arg(b).arg(kept_[b].size()).arg(r.used);
    }
    summary_->setText(tr("Routing of %1 calibration tokens. Never chosen: %2.<br>The cut removes %3 experts (blank; ranked by %4, "
                         "click a cell to keep or remove an expert); the router is renormalised over the kept ones.")
                          .arg(r.tokens)
                          .arg(never.isEmpty() ? tr("none") : never.join(", "))
                          .arg(removed)
                          .arg(criterion_->currentText()) +
                      (problem.isEmpty() ? QString() : "<br><span style='color:#c0392b'>" + problem + "</span>"));
    useInPlan_->setEnabled(problem.isEmpty());
}

} // namespace tailor::ui
