#include "compress_view.h"
#include "depth_width_panel.h"
#include "fit_size_panel.h"
#include "export_dialog.h"
#include "plan_editor.h"
#include "samples_panel.h"
#include "ui/job_runner.h"
#include "ui/plan_binding.h"
#include "ui/plan_store.h"
#include "ui/plots/plot_view.h"
#include "ui/report/report_writer.h"
#include "ui/resource_paths.h"

#include "core/compress/plan_pipeline.h"
#include "core/compress/plan_prediction.h"
#include "core/model/model_session.h"
#include "core/quant/quant_scheme.h"
#include "core/util/block_list.h"
#include "core/util/error.h"

#include <optional>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <set>

namespace tailor::ui {


CompressView::CompressView(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner), store_(store)
{
    buildLayout();
}

QPlainTextEdit* CompressView::denseText() const { return samples_->denseText(); }
QPlainTextEdit* CompressView::compressedText() const { return samples_->compressedText(); }
QPushButton* CompressView::generateButton() const { return samples_->generateButton(); }
QLabel* CompressView::denseSpeed() const { return samples_->denseSpeed(); }
QLabel* CompressView::compressedSpeed() const { return samples_->compressedSpeed(); }
void CompressView::generateSamples() { samples_->generate(); }
QLineEdit* CompressView::dropEdit() const { return editor_->dropEdit(); }
QCheckBox* CompressView::healBox() const { return editor_->healBox(); }
QSpinBox* CompressView::healSteps() const { return editor_->healSteps(); }
QDoubleSpinBox* CompressView::kdWeight() const { return editor_->kdWeight(); }
QComboBox* CompressView::quantBox() const { return editor_->quantBox(); }
QComboBox* CompressView::methodBox() const { return editor_->methodBox(); }
QLabel* CompressView::prediction() const { return editor_->prediction(); }
QLabel* CompressView::widthLabel() const { return editor_->widthLabel(); }
QPushButton* CompressView::clearWidthButton() const { return editor_->clearWidthButton(); }

void CompressView::buildLayout()
{
    editor_ = new PlanEditor(store_, this);

    evalText_ = new QLineEdit(this);
    bindPlanText(evalText_, store_, PlanText::Eval);
    run_ = new QPushButton(tr("Run plan"), this);
    export_ = new QPushButton(tr("Export…"), this);
    export_->setEnabled(false);
    auto* runRow = new QHBoxLayout;
    runRow->addWidget(run_);
    runRow->addWidget(export_);
    taskFile_ = new QLineEdit(this);
    bindPlanText(taskFile_, store_, PlanText::Task);
    taskFile_->setPlaceholderText(tr("optional: a multiple-choice task (JSON Lines)"));
    taskFile_->setToolTip(tr("Each stage's accuracy on the task, the lm-evaluation-harness way; the demo task is %1")
                              .arg(resourcesDir() + "/data/tinystories-next-sentence.jsonl"));
    auto* evalForm = new QFormLayout;
    evalForm->addRow(tr("Evaluation text"), evalText_);
    evalForm->addRow(tr("Task accuracy"), taskFile_);

    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->addWidget(editor_);
    leftLayout->addLayout(evalForm);
    leftLayout->addLayout(runRow);
    leftLayout->addStretch(1);
    left->setMinimumWidth(420);
    left->setMaximumWidth(560);

    stages_ = new QTableWidget(0, 7, this);
    stages_->setHorizontalHeaderLabels({tr("stage"), tr("PPL (evaluation text)"), tr("KLD from dense"), tr("top-1 agreement"),
                                        tr("task acc"), tr("parameters"), tr("size")});
    stages_->horizontalHeaderItem(2)->setToolTip(tr("Mean KL(P_dense ‖ P_stage) per predicted token, nats: how far the stage's predictions drift"));
    stages_->horizontalHeaderItem(3)->setToolTip(tr("Share of positions where the stage's most likely next token is the dense model's"));
    stages_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    stages_->verticalHeader()->setVisible(false);
    stages_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    stages_->setMaximumHeight(190);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    healPlot_ = new PlotView(this);
    healPlot_->setTitle(tr("Healing loss per step"));
    healPlot_->setAxisLabels(tr("step"), tr("loss"));
    samples_ = new SamplesPanel(runner_, this);
    connect(samples_, &SamplesPanel::samplesReady, this, &CompressView::samplesReady);
    connect(samples_, &SamplesPanel::ended, this, [this] { restoreButtons(); });

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->addWidget(stages_);
    rightLayout->addWidget(summary_);
    rightLayout->addWidget(healPlot_, 1);
    rightLayout->addWidget(samples_);

    // the plan's own run, or the depth-against-width experiment at one budget
    pages_ = new QTabWidget(this);
    pages_->addTab(right, tr("This plan"));
    depthWidth_ = new DepthWidthPanel(
        runner_,
        [this] {
            const CompressionPlan p = plan(); // its texts and healing; throws with the problem
            DepthWidthOptions o;
            o.calib = p.calib.empty() ? demoCalibText().toStdString() : p.calib;
            o.eval_text = p.eval_text;
            o.task = p.task;
            o.heal = p.heal;
            return o;
        },
        this);
    pages_->addTab(depthWidth_, tr("Depth vs width"));
    fitSize_ = new FitSizePanel(runner_, store_, this);
    pages_->addTab(fitSize_, tr("Fit to size"));
    connect(depthWidth_, &DepthWidthPanel::message, this, &CompressView::message);
    auto* split = new QSplitter(this);
    split->addWidget(left);
    split->addWidget(pages_);
    split->setStretchFactor(1, 1);
    auto* root = new QVBoxLayout(this);
    root->setContentsMargins(0, 0, 0, 0);
    root->addWidget(split);

    connect(run_, &QPushButton::clicked, this, [this] { run(); });
    connect(export_, &QPushButton::clicked, this, [this] {
        if (const auto r = askExport(this))
            exportTo(r->path, r->format, r->type, r->force, r->imatrix);
    });
}

void CompressView::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    ++revision_;
    applied_.reset();
    curve_.clear();
    stages_->setRowCount(0);
    healPlot_->clear();
    export_->setEnabled(false);
    samples_->setModels(session_, nullptr);
    depthWidth_->setSession(session_);
    fitSize_->setSession(session_);
    editor_->setSession(session_);
}

CompressionPlan CompressView::plan() const { return editor_->plan(); }
void CompressView::setPlan(const CompressionPlan& p) { editor_->setPlan(p); }

void CompressView::run()
{
    CompressionPlan p;
    try {
        p = plan();
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Compression plan"), QString::fromStdString(e.what()));
        return;
    }
    auto session = session_;
    const int rev = ++revision_;
    curve_.clear();
    healPlot_->clear();
    run_->setEnabled(false);
    export_->setEnabled(false);
    samples_->generateButton()->setEnabled(false);
    summary_->setText(tr("Running the plan…"));
    runJob_ = runner_->submit<AppliedPlan>(
        tr("Compress: drop → low rank → heal → quantize"),
        [self = QPointer<CompressView>(this), session, p, rev](const ProgressFn& progress) {
            // healing steps reach the curve while the job runs (if the view still exists)
            return runPlan(*session, p, progress, [self, rev](const HealStep& h) {
                QMetaObject::invokeMethod(
                    self, [self, rev, h] { if (self && rev == self->revision_) self->addHealStep(h); }, Qt::QueuedConnection);
            });
        },
        this,
        [this, rev, p](const AppliedPlan& a) {
            if (rev != revision_)
                return;
            applied_ = std::make_shared<AppliedPlan>(a);
            appliedPlan_ = p;
            samples_->setModels(session_, applied_);
            showStages();
            Q_EMIT message(tr("Plan applied: %1 stages").arg(a.stages.size()));
            Q_EMIT runFinished();
        },
        [this, rev](const JobEnd& end) {
            if (rev != revision_)
                return;
            restoreButtons();
            if (!end.done())
                summary_->setText(endText(end, tr("Run")));
        });
}

void CompressView::addHealStep(const HealStep& h)
{
    curve_.push_back(h);
    drawHealCurve();
}

// The per-step loss is noisy (one micro-batch a step): the raw points, light,
// under their exponential moving average (TensorBoard's smoothing 0.9, with
// its bias correction so the first steps are not pulled towards 0), and the
// evaluation loss (ln PPL on the evaluation text) where it is measured:
// before healing and after it.
void CompressView::drawHealCurve()
{
    constexpr double kSmoothing = 0.9;
    std::vector<double> x, loss, smooth;
    double ema = 0, weight = 0;
    for (const auto& c : curve_) {
        x.push_back(double(c.step));
        loss.push_back(c.loss);
        ema = kSmoothing * ema + (1 - kSmoothing) * c.loss;
        weight = kSmoothing * weight + (1 - kSmoothing);
        smooth.push_back(ema / weight);
    }
    std::vector<std::vector<double>> xs{x, x}, ys{loss, smooth};
    QStringList names{tr("loss per step"), tr("smoothed (EMA %1)").arg(kSmoothing)};
    std::vector<QPen> pens{QPen(QColor(70, 130, 180, 90), 1), QPen(QColor(30, 80, 150), 2.5)};
    if (applied_ && !curve_.empty()) {
        const auto& st = applied_->stages;
        const auto heal = std::find_if(st.begin(), st.end(), [](const StageReport& s) { return s.stage == "heal"; });
        if (heal != st.end() && heal != st.begin() && std::isfinite(heal->ppl) && heal->ppl > 0 && (heal - 1)->ppl > 0) {
            xs.push_back({0.0, double(curve_.back().step)});
            ys.push_back({std::log((heal - 1)->ppl), std::log(heal->ppl)});
            names << tr("evaluation loss (ln PPL, before and after)");
            pens.push_back(QPen(QColor(60, 160, 90), 2, Qt::DashLine));
        }
    }
    healPlot_->setCurves(xs, ys, names, pens);
}

void CompressView::showStages()
{
    const auto& st = applied_->stages;
    stages_->setRowCount(int(st.size()));
    for (std::size_t i = 0; i < st.size(); ++i) {
        stages_->setItem(int(i), 0, new QTableWidgetItem(QString::fromStdString(st[i].stage)));
        stages_->setItem(int(i), 1, new QTableWidgetItem(std::isfinite(st[i].ppl) && st[i].ppl > 0 ? QString::number(st[i].ppl, 'f', 4) : tr("–")));
        const bool measured = std::isfinite(st[i].kld_mean) && st[i].ppl > 0;
        stages_->setItem(int(i), 2, new QTableWidgetItem(measured ? QString::number(st[i].kld_mean, 'f', 4) : tr("–")));
        stages_->setItem(int(i), 3, new QTableWidgetItem(measured ? QString::number(100 * st[i].top1_agreement, 'f', 2) + " %" : tr("–")));
        stages_->setItem(int(i), 4, new QTableWidgetItem(std::isfinite(st[i].task_acc)
                                                             ? QString("%1 ± %2").arg(st[i].task_acc, 0, 'f', 3).arg(st[i].task_acc_stderr, 0, 'f', 3)
                                                             : tr("–")));
        stages_->setItem(int(i), 5, new QTableWidgetItem(QString::number(st[i].parameters)));
        stages_->setItem(int(i), 6, new QTableWidgetItem(QString::number(st[i].size_bytes / 1e6, 'f', 2) + " MB"));
    }
    QString text;
    if (st.size() >= 2)
        text = tr("Dense PPL %1 → %2 after %3; parameters %4 → %5.")
                   .arg(st.front().ppl, 0, 'f', 4)
                   .arg(st.back().ppl, 0, 'f', 4)
                   .arg(QString::fromStdString(st.back().stage))
                   .arg(st.front().parameters)
                   .arg(st.back().parameters);
    for (const auto& w : applied_->warnings)
        text += "<br>" + QString::fromStdString(w).toHtmlEscaped();
    summary_->setText(text);
    if (!applied_->heal_curve.empty()) {
        curve_ = applied_->heal_curve;
        drawHealCurve(); // with the evaluation loss the run measured
    }
}

void CompressView::exportTo(const QString& path, const QString& format, const QString& type, bool force, const QString& imatrixFile)
{
    if (!applied_ || !session_)
        return;
    auto session = session_;
    auto applied = applied_;
    const CompressionPlan p = appliedPlan_;
    ExportTarget target;
    target.path = path.toStdString();
    target.format = format.toStdString();
    target.type = type.toStdString(); // "" = as stored (HF) or the plan's type (GGUF)
    target.imatrix = imatrixFile.toStdString();
    target.force = force;
    target.report_options.depth_width = depthWidth_->comparison();
    export_->setEnabled(false);
    runner_->submit<ExportResult>(
        tr("Export %1").arg(path),
        [session, applied, p, target](const ProgressFn& progress) { return exportRun(*session, p, *applied, target, progress); },
        this,
        [this, path](const ExportResult& r) {
            try {
                writeReportFolder(*r.report, path + ".report", true);
            } catch (const std::exception& e) {
                Q_EMIT message(tr("Report not written: %1").arg(QString::fromStdString(e.what())));
            }
            summary_->setText(summary_->text() + tr("<br>Exported to %1 (%2 MB); report in %1.report")
                                                     .arg(path)
                                                     .arg(double(r.bytes_output) / 1e6, 0, 'f', 2));
            Q_EMIT message(tr("Exported %1").arg(path));
            Q_EMIT exported(path);
        },
        [this](const JobEnd& end) {
            restoreButtons();
            if (!end.done())
                summary_->setText(summary_->text() + "<br>" + endText(end, tr("Export")));
        });
}

// Every job's end gives the buttons back: Run whenever no run is going,
// Export and Generate whenever there is an applied plan to use.
void CompressView::restoreButtons()
{
    const bool running = runner_->isActive(runJob_);
    run_->setEnabled(session_ != nullptr && !running);
    export_->setEnabled(applied_ != nullptr && !running);
    samples_->generateButton()->setEnabled(applied_ != nullptr && !running);
}

QString CompressView::endText(const JobEnd& end, const QString& what)
{
    if (end.cancelled())
        return tr("%1 cancelled.").arg(what);
    return "<span style='color:#c0392b'>" + tr("%1 failed: %2").arg(what, end.message.toHtmlEscaped()) + "</span>";
}

} // namespace tailor::ui
