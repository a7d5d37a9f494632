#include "compress_view.h"
#include "depth_width_panel.h"
#include "export_dialog.h"
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

namespace {
const QString kMixedPrefix = PlanStore::mixedPrefix();
const QString kNoQuant = PlanStore::noQuantLabel();

// The method box's row for a plan's method and back.
int methodIndex(const PlanQuant& q) { return q.method == QuantMethod::Rtn ? 0 : q.act_order ? 2 : 1; }
void setMethod(PlanQuant& q, int index)
{
    q.method = index == 0 ? QuantMethod::Rtn : QuantMethod::Gptq;
    q.act_order = index == 2;
}

QString blocksText(const std::vector<int>& b)
{
    QStringList s;
    for (int i : b)
        s << QString::number(i);
    return s.join(", ");
}
} // namespace

CompressView::CompressView(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner), store_(store)
{
    buildLayout();
    connect(store_, &PlanStore::changed, this, [this](PlanStore::Parts parts) {
        showStore(parts);
        updatePrediction();
    });
    showStore(PlanStore::all());
}

QPlainTextEdit* CompressView::denseText() const { return samples_->denseText(); }
QPlainTextEdit* CompressView::compressedText() const { return samples_->compressedText(); }
QPushButton* CompressView::generateButton() const { return samples_->generateButton(); }
QLabel* CompressView::denseSpeed() const { return samples_->denseSpeed(); }
QLabel* CompressView::compressedSpeed() const { return samples_->compressedSpeed(); }
void CompressView::generateSamples() { samples_->generate(); }

void CompressView::buildLayout()
{
    drop_ = new QLineEdit(this);
    drop_->setPlaceholderText(tr("e.g. 5, 6, 7 (none: keep every block)"));
    ranksLabel_ = new QLabel(tr("none"), this);
    whiten_ = new QCheckBox(tr("whitened SVD"), this);
    whiten_->setObjectName("plan.whiten"); // the store's one whitening choice (Low rank shows it too)
    quant_ = new QComboBox(this);
    quant_->setEditable(true);
    quant_->addItems({kNoQuant, "int8_sym_channel", "int4_sym_g32", "int4_asym_g32"});
    for (const std::string& n : ggmlSchemeNames())
        quant_->addItem(QString::fromStdString(n));
    method_ = new QComboBox(this);
    method_->addItems({"rtn", "gptq", "gptq, act-order"}); // in this order: methodIndex()
    calib_ = new QLineEdit(this);
    bindPlanText(calib_, store_, PlanText::Calib);
    widthLabel_ = new QLabel(tr("none"), this);
    widthLabel_->setToolTip(tr("Heads and MLP channels removed: the Width view's \"Use in plan\""));
    clearWidth_ = new QPushButton(tr("Clear"), this);
    loadPlan_ = new QPushButton(tr("Load plan…"), this);
    savePlan_ = new QPushButton(tr("Save plan…"), this);
    prediction_ = new QLabel(this);
    prediction_->setWordWrap(true);
    auto* planBox = new QGroupBox(tr("Plan"), this);
    auto* planForm = new QFormLayout(planBox);
    auto* planButtons = new QHBoxLayout;
    planButtons->addWidget(loadPlan_);
    planButtons->addWidget(savePlan_);
    planForm->addRow(planButtons);
    planForm->addRow(tr("Drop blocks"), drop_);
    auto* rankRow = new QHBoxLayout;
    rankRow->addWidget(ranksLabel_, 1);
    rankRow->addWidget(whiten_);
    planForm->addRow(tr("Low rank"), rankRow);
    auto* widthRow = new QHBoxLayout;
    widthRow->addWidget(widthLabel_, 1);
    widthRow->addWidget(clearWidth_);
    planForm->addRow(tr("Width"), widthRow);
    auto* quantRow = new QHBoxLayout;
    quantRow->addWidget(quant_, 1);
    quantRow->addWidget(method_);
    planForm->addRow(tr("Quantize"), quantRow);
    planForm->addRow(tr("Calibration"), calib_);
    planForm->addRow(prediction_);

    heal_ = new QCheckBox(tr("Heal with LoRA after dropping and factorizing"), this);
    healText_ = new QLineEdit(demoCalibText(), this);
    healSteps_ = new QSpinBox(this);
    healSteps_->setRange(1, 100000);
    healSteps_->setValue(200);
    healRank_ = new QSpinBox(this);
    healRank_->setRange(1, 256);
    healRank_->setValue(8);
    healLr_ = new QDoubleSpinBox(this);
    healLr_->setDecimals(5);
    healLr_->setRange(1e-5, 1e-1);
    healLr_->setSingleStep(1e-4);
    healLr_->setValue(3e-4);
    kd_ = new QDoubleSpinBox(this);
    kd_->setRange(0, 1);
    kd_->setSingleStep(0.1);
    kd_->setToolTip(tr("Weight of distillation from the original model (0: next-token loss only)"));
    temperature_ = new QDoubleSpinBox(this);
    temperature_->setRange(0.1, 20);
    temperature_->setValue(2);
    auto* healBox = new QGroupBox(tr("Healing"), this);
    auto* healForm = new QFormLayout(healBox);
    healForm->addRow(heal_);
    healForm->addRow(tr("Training text"), healText_);
    healForm->addRow(tr("Steps"), healSteps_);
    healForm->addRow(tr("LoRA rank (α = 2r)"), healRank_);
    healForm->addRow(tr("Learning rate"), healLr_);
    healForm->addRow(tr("Distillation weight"), kd_);
    healForm->addRow(tr("Temperature"), temperature_);

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
    leftLayout->addWidget(planBox);
    leftLayout->addWidget(healBox);
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
    connect(depthWidth_, &DepthWidthPanel::message, this, &CompressView::message);
    auto* split = new QSplitter(this);
    split->addWidget(left);
    split->addWidget(pages_);
    split->setStretchFactor(1, 1);
    auto* root = new QVBoxLayout(this);
    root->setContentsMargins(0, 0, 0, 0);
    root->addWidget(split);

    // typed blocks go to the store when they parse (the prediction names the problem otherwise)
    connect(drop_, &QLineEdit::textChanged, this, [this] {
        try {
            store_->setDropBlocks(parseBlockList(drop_->text().toStdString(), 0, "blocks to drop"));
            dropError_.clear();
        } catch (const std::exception& e) {
            dropError_ = e.what(); // the store keeps the last valid blocks; run and save refuse with this
        }
        updatePrediction();
    });
    connect(quant_, &QComboBox::currentTextChanged, this, [this] { storeQuantChoice(); });
    connect(method_, &QComboBox::currentTextChanged, this, [this] { storeQuantChoice(); });
    connect(whiten_, &QCheckBox::toggled, store_, &PlanStore::setWhiten);
    for (QSpinBox* box : {healSteps_, healRank_})
        connect(box, &QSpinBox::valueChanged, this, [this] { storeHeal(); });
    for (QDoubleSpinBox* box : {healLr_, kd_, temperature_})
        connect(box, &QDoubleSpinBox::valueChanged, this, [this] { storeHeal(); });
    connect(heal_, &QCheckBox::toggled, this, [this] { storeHeal(); });
    connect(healText_, &QLineEdit::textChanged, this, [this] { storeHeal(); });
    connect(clearWidth_, &QPushButton::clicked, this, [this] { store_->setWidth(std::nullopt); });
    connect(run_, &QPushButton::clicked, this, [this] { run(); });
    connect(export_, &QPushButton::clicked, this, [this] {
        if (const auto r = askExport(this))
            exportTo(r->path, r->format, r->type, r->force, r->imatrix);
    });
    connect(savePlan_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save plan"), "plan.json", tr("Plans (*.json)"));
        if (path.isEmpty())
            return;
        try {
            plan().save(path.toStdString());
        } catch (const std::exception& e) {
            QMessageBox::warning(this, tr("Save plan"), QString::fromStdString(e.what()));
        }
    });
    connect(loadPlan_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Load plan"), QString(), tr("Plans (*.json)"));
        if (path.isEmpty())
            return;
        try {
            setPlan(CompressionPlan::fromFile(path.toStdString()));
        } catch (const std::exception& e) {
            QMessageBox::warning(this, tr("Load plan"), QString::fromStdString(e.what()));
        }
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
    updatePrediction();
}

CompressionPlan CompressView::plan() const
{
    if (!session_)
        throw Error("open a model first");
    // entries that did not parse are named, not silently replaced by the store's last valid value
    if (!dropError_.empty())
        throw Error(dropError_);
    if (!quantError_.empty())
        throw Error(quantError_);
    if (!healError_.empty())
        throw Error(healError_);
    CompressionPlan p = store_->plan();
    p.model = session_->dir();
    return p;
}

void CompressView::setPlan(const CompressionPlan& p)
{
    store_->setPlan(p, p.quant ? tr("%1 rules from the plan").arg(p.quant->rules.size()) : QString());
}

void CompressView::storeHeal()
{
    healError_.clear();
    if (!heal_->isChecked()) {
        store_->setHeal(std::nullopt);
        return;
    }
    PlanHeal h = store_->plan().heal.value_or(PlanHeal{});
    h.text = healText_->text().trimmed().toStdString();
    h.options.steps = healSteps_->value();
    h.options.rank = healRank_->value();
    h.options.alpha = 2.0 * healRank_->value();
    h.options.lr = healLr_->value();
    h.options.kd_weight = kd_->value();
    h.options.temperature = temperature_->value();
    try {
        h.options.validate();
        store_->setHeal(h);
    } catch (const std::exception& e) {
        healError_ = std::string("healing: ") + e.what();
    }
    updatePrediction();
}

void CompressView::showStore(PlanStore::Parts parts)
{
    const CompressionPlan& p = store_->plan();
    if (parts & PlanStore::Whiten) {
        const QSignalBlocker quiet(whiten_);
        whiten_->setChecked(p.whiten);
    }
    if (parts & PlanStore::Heal) {
        const QSignalBlocker q1(heal_), q2(healText_), q3(healSteps_), q4(healRank_), q5(healLr_), q6(kd_), q7(temperature_);
        heal_->setChecked(p.heal.has_value());
        if (p.heal) { // unchecked, the boxes keep the last settings for the next time
            healText_->setText(QString::fromStdString(p.heal->text));
            healSteps_->setValue(int(p.heal->options.steps));
            healRank_->setValue(int(p.heal->options.rank));
            healLr_->setValue(p.heal->options.lr);
            kd_->setValue(p.heal->options.kd_weight);
            temperature_->setValue(p.heal->options.temperature);
        }
        healError_.clear();
    }
    if (parts & PlanStore::Blocks) {
        // leave what the user is typing alone while it means the same blocks
        std::vector<int> typed;
        try {
            typed = parseBlockList(drop_->text().toStdString(), 0, "blocks to drop");
        } catch (const std::exception&) {
        }
        const std::set<int> unique(typed.begin(), typed.end());
        if (std::vector<int>(unique.begin(), unique.end()) != p.drop_blocks)
            drop_->setText(blocksText(p.drop_blocks));
    }
    if (parts & PlanStore::Ranks)
        ranksLabel_->setText(p.ranks.empty() ? tr("none") : tr("%1 layers").arg(p.ranks.size()));
    if (parts & PlanStore::Width) {
        if (!p.width) {
            widthLabel_->setText(tr("none"));
        } else {
            int64_t groups = 0, channels = 0;
            for (const auto& g : p.width->groups)
                groups += int64_t(g.size());
            for (const auto& c : p.width->channels)
                channels += int64_t(c.size());
            widthLabel_->setText(tr("%1 KV groups and %2 MLP channels removed (%3%4)")
                                     .arg(groups)
                                     .arg(channels)
                                     .arg(p.width->uniform() ? tr("uniform") : tr("per block"))
                                     .arg(p.width_criterion.empty() ? QString() : tr(", by %1").arg(QString::fromStdString(p.width_criterion))));
        }
        clearWidth_->setEnabled(p.width.has_value());
    }
    if (parts & PlanStore::Quant) {
        const QSignalBlocker quiet(quant_), quietMethod(method_);
        for (int i = quant_->count() - 1; i >= 0; --i)
            if (quant_->itemText(i).startsWith(kMixedPrefix))
                quant_->removeItem(i);
        const QString label = store_->quantLabel();
        if (quant_->findText(label) < 0)
            quant_->addItem(label);
        quant_->setCurrentText(label);
        if (p.quant)
            method_->setCurrentIndex(methodIndex(*p.quant));
    }
}

void CompressView::storeQuantChoice()
{
    const QString q = quant_->currentText().trimmed();
    quantError_.clear();
    if (q.startsWith(kMixedPrefix)) { // the per-layer rules stay; only their method follows the box
        if (auto cur = store_->plan().quant) {
            setMethod(*cur, method_->currentIndex());
            store_->setQuant(cur, q.mid(kMixedPrefix.size()));
        }
    } else if (q.isEmpty() || q == kNoQuant) {
        store_->setQuant(std::nullopt);
    } else {
        try {
            PlanQuant pq;
            pq.scheme = QuantScheme::parse(q.toStdString());
            setMethod(pq, method_->currentIndex());
            store_->setQuant(pq);
        } catch (const std::exception& e) { // a half-typed name: the prediction says what is wrong
            quantError_ = e.what();
        }
    }
    updatePrediction();
}

void CompressView::updatePrediction()
{
    if (!session_) {
        prediction_->setText(tr("Open a model."));
        return;
    }
    try {
        const CompressionPlan p = plan();
        const PlanPrediction e = predictPlan(*session_, p);
        prediction_->setText(tr("Predicted: %1 → %2 parameters (%3 % fewer); ≈ %4 MB (BF16%5); decode speed-up from dropped blocks ≈ %6×")
                                 .arg(e.parameters_before)
                                 .arg(e.parameters_after)
                                 .arg(100.0 * double(e.parameters_before - e.parameters_after) / double(e.parameters_before), 0, 'f', 1)
                                 .arg(e.bytes / 1e6, 0, 'f', 2)
                                 .arg(e.quantized ? tr(", linear layers ") + store_->quantLabel() : QString())
                                 .arg(e.decode_speedup, 0, 'f', 2));
    } catch (const std::exception& e) {
        prediction_->setText("<span style='color:#c0392b'>" + QString::fromStdString(e.what()).toHtmlEscaped() + "</span>");
    }
}

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
