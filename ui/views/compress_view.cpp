#include "compress_view.h"
#include "ui/job_runner.h"
#include "ui/plots/plot_view.h"
#include "depth_width_panel.h"
#include "ui/report/report_writer.h"
#include "ui/resource_paths.h"
#include "ui/views/blocks_view.h"
#include "ui/views/lowrank_view.h"
#include "ui/views/quant_view.h"

#include "core/block_importance.h"
#include "core/compress/compression_report.h"
#include "core/error.h"
#include "core/export/hf_export.h"
#include "core/decode/decode_speed.h"
#include "core/generate.h"
#include "core/gguf/gguf_export.h"
#include "core/model_session.h"
#include "core/quant/quant_scheme.h"
#include "core/gguf/gguf_mixture.h"
#include "core/gguf/imatrix.h"

#include <optional>
#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
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
const QString kAsStored = QStringLiteral("as stored");
const QString kMixedPrefix = QStringLiteral("mixed: "); // the quant item of a per-layer plan (a size budget's)

struct Samples {
    GenerateResult dense, compressed;
    DecodeSpeed denseSpeed, compressedSpeed;
};

QString speedText(const QString& label, const DecodeSpeed& s)
{
    return QObject::tr("<b>%1</b>: decode %2 tokens/s (%3–%4), prefill %5 tokens/s; %6 MB of weights and %8 MB of KV cache a token, roofline %7 tokens/s")
        .arg(label)
        .arg(s.decode.median, 0, 'f', 1)
        .arg(s.decode.min, 0, 'f', 1)
        .arg(s.decode.max, 0, 'f', 1)
        .arg(s.prefill.median, 0, 'f', 0)
        .arg(double(s.weight_bytes_per_token) / 1e6, 0, 'f', 1)
        .arg(s.roofline_tokens_per_s, 0, 'f', 1)
        .arg(double(s.kv_bytes_per_token) / 1e6, 0, 'f', 2);
}

// "2, 5-7" -> {2, 5, 6, 7}
std::vector<int> parseBlocks(const QString& text)
{
    std::set<int> out;
    for (const QString& part : text.split(',', Qt::SkipEmptyParts)) {
        const QString p = part.trimmed();
        bool ok1 = true, ok2 = true;
        if (p.contains('-')) {
            const int a = p.section('-', 0, 0).trimmed().toInt(&ok1), b = p.section('-', 1, 1).trimmed().toInt(&ok2);
            if (!ok1 || !ok2 || b < a)
                throw Error("blocks to drop: '" + p.toStdString() + "' is not a block range");
            for (int i = a; i <= b; ++i)
                out.insert(i);
        } else {
            const int a = p.toInt(&ok1);
            if (!ok1)
                throw Error("blocks to drop: '" + p.toStdString() + "' is not a block index");
            out.insert(a);
        }
    }
    return {out.begin(), out.end()};
}

QString blocksText(const std::vector<int>& b)
{
    QStringList s;
    for (int i : b)
        s << QString::number(i);
    return s.join(", ");
}
} // namespace

CompressView::CompressView(JobRunner* runner, BlocksView* blocks, LowRankView* lowrank, QuantView* quant, QWidget* parent)
    : QWidget(parent), runner_(runner), blocks_(blocks), lowrankView_(lowrank), quantView_(quant)
{
    buildLayout();
}

void CompressView::buildLayout()
{
    drop_ = new QLineEdit(this);
    drop_->setPlaceholderText(tr("e.g. 5, 6, 7 (none: keep every block)"));
    ranksLabel_ = new QLabel(tr("none"), this);
    whiten_ = new QCheckBox(tr("whitened SVD"), this);
    whiten_->setChecked(true);
    quant_ = new QComboBox(this);
    quant_->setEditable(true);
    quant_->addItems({"none", "int8_sym_channel", "int4_sym_g32", "int4_asym_g32"});
    for (const std::string& n : ggmlSchemeNames())
        quant_->addItem(QString::fromStdString(n));
    method_ = new QComboBox(this);
    method_->addItems({"rtn", "gptq"});
    calib_ = new QLineEdit(demoCalibText(), this);
    fromViews_ = new QPushButton(tr("Take from the views"), this);
    fromViews_->setToolTip(tr("Blocks marked in Blocks, ranks chosen in Low rank, the scheme of Quantization"));
    loadPlan_ = new QPushButton(tr("Load plan…"), this);
    savePlan_ = new QPushButton(tr("Save plan…"), this);
    prediction_ = new QLabel(this);
    prediction_->setWordWrap(true);
    auto* planBox = new QGroupBox(tr("Plan"), this);
    auto* planForm = new QFormLayout(planBox);
    auto* planButtons = new QHBoxLayout;
    planButtons->addWidget(fromViews_);
    planButtons->addWidget(loadPlan_);
    planButtons->addWidget(savePlan_);
    planForm->addRow(planButtons);
    planForm->addRow(tr("Drop blocks"), drop_);
    auto* rankRow = new QHBoxLayout;
    rankRow->addWidget(ranksLabel_, 1);
    rankRow->addWidget(whiten_);
    planForm->addRow(tr("Low rank"), rankRow);
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

    evalText_ = new QLineEdit(demoEvalText(), this);
    run_ = new QPushButton(tr("Run plan"), this);
    export_ = new QPushButton(tr("Export…"), this);
    export_->setEnabled(false);
    auto* runRow = new QHBoxLayout;
    runRow->addWidget(run_);
    runRow->addWidget(export_);
    taskFile_ = new QLineEdit(this);
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
    prompt_ = new QLineEdit(QStringLiteral("Once upon a time"), this);
    generate_ = new QPushButton(tr("Generate"), this);
    generate_->setEnabled(false);
    denseText_ = new QPlainTextEdit(this);
    compressedText_ = new QPlainTextEdit(this);
    for (auto* t : {denseText_, compressedText_}) {
        t->setReadOnly(true);
        t->setMinimumHeight(90);
    }
    denseSpeed_ = new QLabel(tr("dense"), this);
    compressedSpeed_ = new QLabel(tr("compressed"), this);
    for (QLabel* l : {denseSpeed_, compressedSpeed_})
        l->setWordWrap(true); // median, spread, bytes and roofline: two lines beside each other
    auto* promptRow = new QHBoxLayout;
    promptRow->addWidget(new QLabel(tr("Prompt"), this));
    promptRow->addWidget(prompt_, 1);
    promptRow->addWidget(generate_);
    auto* sideBySide = new QGridLayout;
    sideBySide->addWidget(denseSpeed_, 0, 0);
    sideBySide->addWidget(compressedSpeed_, 0, 1);
    sideBySide->addWidget(denseText_, 1, 0);
    sideBySide->addWidget(compressedText_, 1, 1);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->addWidget(stages_);
    rightLayout->addWidget(summary_);
    rightLayout->addWidget(healPlot_, 1);
    rightLayout->addLayout(promptRow);
    rightLayout->addLayout(sideBySide);

    // the plan's own run, or the depth-against-width experiment at one budget
    pages_ = new QTabWidget(this);
    pages_->addTab(right, tr("This plan"));
    depthWidth_ = new DepthWidthPanel(
        runner_,
        [this] {
            const CompressionPlan p = plan(); // its calibration text and healing; throws with the problem
            DepthWidthOptions o;
            o.calib = p.calib.empty() ? demoCalibText().toStdString() : p.calib;
            o.eval_text = evalText_->text().trimmed().toStdString();
            o.task = taskFile_->text().trimmed().toStdString();
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

    connect(fromViews_, &QPushButton::clicked, this, [this] { takeFromViews(); });
    connect(drop_, &QLineEdit::textChanged, this, [this] { updatePrediction(); });
    connect(quant_, &QComboBox::currentTextChanged, this, [this] { updatePrediction(); });
    connect(run_, &QPushButton::clicked, this, [this] { run(); });
    connect(export_, &QPushButton::clicked, this, [this] { exportDialog(); });
    connect(generate_, &QPushButton::clicked, this, [this] { generateSamples(); });
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
    ranks_.clear();
    curve_.clear();
    stages_->setRowCount(0);
    healPlot_->clear();
    export_->setEnabled(false);
    generate_->setEnabled(false);
    ranksLabel_->setText(tr("none"));
    depthWidth_->setSession(session_);
    updatePrediction();
}

CompressionPlan CompressView::plan() const
{
    if (!session_)
        throw Error("open a model first");
    CompressionPlan p;
    p.model = session_->dir();
    p.calib = calib_->text().toStdString();
    p.drop_blocks = parseBlocks(drop_->text());
    p.ranks = ranks_;
    p.whiten = whiten_->isChecked();
    const QString q = quant_->currentText().trimmed();
    if (q.startsWith(kMixedPrefix) && mixed_)
        p.quant = *mixed_;
    else if (!q.isEmpty() && q != "none") {
        QuantScheme::parse(q.toStdString()); // names the problem
        p.quant = PlanQuant{q.toStdString(), method_->currentText().toStdString(), ""};
    }
    if (heal_->isChecked()) {
        PlanHeal h;
        h.text = healText_->text().toStdString();
        h.options.steps = healSteps_->value();
        h.options.rank = healRank_->value();
        h.options.alpha = 2.0 * healRank_->value();
        h.options.lr = healLr_->value();
        h.options.kd_weight = kd_->value();
        h.options.temperature = temperature_->value();
        h.options.validate();
        p.heal = h;
    }
    return p;
}

void CompressView::setPlan(const CompressionPlan& p)
{
    drop_->setText(blocksText(p.drop_blocks));
    ranks_ = p.ranks;
    ranksLabel_->setText(ranks_.empty() ? tr("none") : tr("%1 layers").arg(ranks_.size()));
    whiten_->setChecked(p.whiten);
    if (p.quant && !p.quant->rules.empty())
        setQuantPlan(*p.quant, tr("%1 rules from the plan").arg(p.quant->rules.size()));
    else
        quant_->setCurrentText(p.quant ? QString::fromStdString(p.quant->scheme) : QStringLiteral("none"));
    if (p.quant)
        method_->setCurrentText(QString::fromStdString(p.quant->method));
    if (!p.calib.empty())
        calib_->setText(QString::fromStdString(p.calib));
    heal_->setChecked(p.heal.has_value());
    if (p.heal) {
        healText_->setText(QString::fromStdString(p.heal->text));
        healSteps_->setValue(int(p.heal->options.steps));
        healRank_->setValue(int(p.heal->options.rank));
        healLr_->setValue(p.heal->options.lr);
        kd_->setValue(p.heal->options.kd_weight);
        temperature_->setValue(p.heal->options.temperature);
    }
    updatePrediction();
}

void CompressView::setQuantPlan(const PlanQuant& q, const QString& label)
{
    for (int i = quant_->count() - 1; i >= 0; --i)
        if (quant_->itemText(i).startsWith(kMixedPrefix))
            quant_->removeItem(i);
    if (q.rules.empty()) {
        mixed_.reset();
        const QString scheme = QString::fromStdString(q.scheme);
        if (quant_->findText(scheme) < 0)
            quant_->addItem(scheme);
        quant_->setCurrentText(scheme);
    } else {
        mixed_ = q;
        const QString item = kMixedPrefix + label;
        quant_->addItem(item);
        quant_->setCurrentText(item);
        method_->setCurrentText(QString::fromStdString(q.method));
    }
    updatePrediction();
}

void CompressView::takeFromViews()
{
    const std::set<int> marked = blocks_->markedBlocks();
    drop_->setText(blocksText({marked.begin(), marked.end()}));
    ranks_ = lowrankView_->ranks();
    ranksLabel_->setText(ranks_.empty() ? tr("none") : tr("%1 layers").arg(ranks_.size()));
    try {
        const QString scheme = QString::fromStdString(quantView_->scheme().name());
        if (quant_->findText(scheme) < 0)
            quant_->addItem(scheme);
        quant_->setCurrentText(scheme);
        method_->setCurrentText(quantView_->method());
    } catch (const std::exception&) {
        quant_->setCurrentText("none");
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
        const ModelSummary& s = session_->summary();
        const DropSavings d = dropSavings(session_->model(), p.drop_blocks);
        int64_t params = d.parameters_after, linear = 0;
        double quantBits = 0;
        const bool quantized = p.quant.has_value();
        for (const auto& t : s.tensors) {
            if (t.block >= 0 && std::find(p.drop_blocks.begin(), p.drop_blocks.end(), t.block) != p.drop_blocks.end())
                continue;
            const auto r = ranks_.find(t.name);
            int64_t n = t.parameters;
            if (r != ranks_.end() && t.shape.size() == 2) {
                n = r->second * (t.shape[0] + t.shape[1]);
                params -= t.parameters - n;
            }
            const bool isLinear = t.shape.size() == 2 && t.block >= 0;
            const std::string name = quantized && isLinear ? p.quant->schemeFor(t.name) : std::string();
            if (!name.empty()) { // a mixed plan gives each layer its own scheme
                linear += n;
                quantBits += double(n) * QuantScheme::parse(name).bitsPerWeight(t.shape[1]);
            }
        }
        const double bytes = quantized ? (quantBits + double(params - linear) * 16) / 8 : double(params) * 2;
        prediction_->setText(tr("Predicted: %1 → %2 parameters (%3 % fewer); ≈ %4 MB (BF16%5); decode speed-up from dropped blocks ≈ %6×")
                                 .arg(s.parameters)
                                 .arg(params)
                                 .arg(100.0 * double(s.parameters - params) / double(s.parameters), 0, 'f', 1)
                                 .arg(bytes / 1e6, 0, 'f', 2)
                                 .arg(quantized ? tr(", linear layers ") + quant_->currentText() : QString())
                                 .arg(1.0 / std::max(1e-9, 1.0 - d.flop_reduction), 0, 'f', 2));
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
    const std::string evalText = evalText_->text().toStdString(), task = taskFile_->text().trimmed().toStdString();
    const int rev = ++revision_;
    curve_.clear();
    healPlot_->clear();
    run_->setEnabled(false);
    export_->setEnabled(false);
    generate_->setEnabled(false);
    summary_->setText(tr("Running the plan…"));
    runJob_ = runner_->submit<AppliedPlan>(
        tr("Compress: drop → low rank → heal → quantize"),
        [this, session, p, evalText, task, rev](const ProgressFn& progress) {
            // healing steps reach the curve while the job runs
            return applyPlan(
                *session, p, evalText, progress,
                [this, rev](const HealStep& h) {
                    QMetaObject::invokeMethod(
                        this, [this, rev, h] { if (rev == revision_) addHealStep(h); }, Qt::QueuedConnection);
                },
                task);
        },
        this,
        [this, rev, p](const AppliedPlan& a) {
            if (rev != revision_)
                return;
            applied_ = std::make_shared<AppliedPlan>(a);
            appliedPlan_ = p;
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
    std::vector<double> x, loss;
    for (const auto& c : curve_)
        x.push_back(double(c.step)), loss.push_back(c.loss);
    healPlot_->setCurves({x}, {loss}, {tr("loss")});
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
    if (!applied_->heal_curve.empty() && int(curve_.size()) != int(applied_->heal_curve.size())) {
        curve_.clear();
        for (const auto& h : applied_->heal_curve)
            addHealStep(h);
    }
}

void CompressView::exportDialog()
{
    QDialog dlg(this);
    dlg.setWindowTitle(tr("Export the compressed model"));
    auto* form = new QFormLayout(&dlg);
    auto* format = new QComboBox(&dlg);
    format->addItems({tr("Hugging Face folder"), tr("GGUF file (llama.cpp)")});
    auto* type = new QComboBox(&dlg);
    auto* path = new QLineEdit(&dlg);
    auto* browse = new QPushButton(tr("…"), &dlg);
    auto fillTypes = [type, format] {
        type->clear();
        if (format->currentIndex() == 0) {
            type->addItems({kAsStored, "BF16", "F16", "F32"});
            return;
        }
        // llama-quantize's file types, typed per tensor as it would
        for (const gguf::Mixture& m : gguf::mixtures())
            type->addItem(QString(m.name).toUpper());
        type->setCurrentText("Q4_K_M");
    };
    fillTypes();
    connect(format, &QComboBox::currentIndexChanged, &dlg, fillTypes);
    connect(browse, &QPushButton::clicked, &dlg, [&] {
        const QString p = format->currentIndex() == 0 ? QFileDialog::getSaveFileName(&dlg, tr("Output folder"))
                                                      : QFileDialog::getSaveFileName(&dlg, tr("GGUF file"), "model.gguf", "GGUF (*.gguf)");
        if (!p.isEmpty())
            path->setText(p);
    });
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(path, 1);
    pathRow->addWidget(browse);
    form->addRow(tr("Format"), format);
    form->addRow(tr("Tensor type"), type);
    auto* imatrix = new QLineEdit(&dlg);
    imatrix->setPlaceholderText(tr("optional: importance matrix (tailor-cli imatrix, or llama.cpp's)"));
    auto* imBrowse = new QPushButton(tr("…"), &dlg);
    connect(imBrowse, &QPushButton::clicked, &dlg, [&] {
        const QString p = QFileDialog::getOpenFileName(&dlg, tr("Importance matrix"), {}, "imatrix (*.gguf)");
        if (!p.isEmpty())
            imatrix->setText(p);
    });
    auto* imRow = new QHBoxLayout;
    imRow->addWidget(imatrix, 1);
    imRow->addWidget(imBrowse);
    form->addRow(tr("Importance matrix"), imRow);
    auto showImatrix = [&] {
        imatrix->setEnabled(format->currentIndex() == 1);
        imBrowse->setEnabled(format->currentIndex() == 1);
    };
    showImatrix();
    connect(format, &QComboBox::currentIndexChanged, &dlg, showImatrix);
    form->addRow(tr("Output"), pathRow);
    form->addRow(new QLabel(tr("A report (Markdown, JSON, charts) is written to <output>.report."), &dlg));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dlg);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &dlg, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
    if (dlg.exec() != QDialog::Accepted || path->text().isEmpty())
        return;
    bool force = false;
    if (QFileInfo::exists(path->text())) {
        if (QMessageBox::question(this, tr("Export"), tr("%1 exists. Replace it?").arg(path->text())) != QMessageBox::Yes)
            return;
        force = true;
    }
    exportTo(path->text(), format->currentIndex() == 0 ? "hf" : "gguf", type->currentText(), force,
             format->currentIndex() == 1 ? imatrix->text() : QString());
}

void CompressView::exportTo(const QString& path, const QString& format, const QString& type, bool force, const QString& imatrixFile)
{
    if (!applied_ || !session_)
        return;
    auto session = session_;
    auto applied = applied_;
    const CompressionPlan p = appliedPlan_;
    const std::string out = path.toStdString(), fmt = format.toStdString();
    const std::string ty = type == kAsStored ? std::string() : type.toUpper().toStdString();
    const std::string evalText = evalText_->text().toStdString(), im = imatrixFile.toStdString();
    const std::optional<DepthWidthComparison> comparison = depthWidth_->comparison();
    export_->setEnabled(false);
    runner_->submit<CompressionReport>(
        tr("Export %1").arg(path),
        [session, applied, p, out, fmt, ty, force, evalText, im, comparison](const ProgressFn& progress) {
            if (fmt == "gguf") {
                GgufExportOptions o;
                o.type = ty;
                o.force = force;
                std::optional<Imatrix> imatrix;
                if (!im.empty())
                    imatrix = readImatrix(im); // errors name the file; the job ends failed with them
                o.imatrix = imatrix ? &*imatrix : nullptr;
                exportGguf(*applied->model, applied->drop_blocks, out, o, progress);
            } else {
                HfExportOptions o;
                o.dtype = ty;
                o.force = force;
                o.model_card = "Plan:\n\n```json\n" + QJsonDocument(p.toJson()).toJson().toStdString() + "```\n";
                exportHf(*applied->model, applied->drop_blocks, out, o, progress);
            }
            ReportOptions ro;
            ro.calib_text = p.calib.empty() ? evalText : p.calib;
            ro.depth_width = comparison;
            CompressionReport r = buildReport(*session, p, *applied, ro);
            r.output = out;
            r.format = fmt;
            r.type = ty;
            r.bytes_output = pathBytes(out);
            return r;
        },
        this,
        [this, path, force](const CompressionReport& r) {
            try {
                writeReportFolder(r, path + ".report", true);
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

void CompressView::generateSamples()
{
    if (!applied_ || !session_)
        return;
    auto session = session_;
    auto applied = applied_;
    const std::string prompt = prompt_->text().toStdString();
    generate_->setEnabled(false);
    // The texts stream into their boxes as the tokens come (queued to the UI
    // thread; the pointers go null if the view is gone).
    const auto streamTo = [](QPlainTextEdit* box) {
        QPointer<QPlainTextEdit> p(box);
        return [p](const std::string& text) {
            QMetaObject::invokeMethod(
                p, [p, t = QString::fromStdString(text)] { if (p) p->setPlainText(t); }, Qt::QueuedConnection);
        };
    };
    denseText_->clear();
    compressedText_->clear();
    denseSpeed_->setText(tr("<b>dense</b>: generating…"));
    compressedSpeed_->setText(tr("<b>compressed</b>: waiting"));
    runner_->submit<Samples>(
        tr("Generate: dense and compressed"),
        [session, applied, prompt, toDense = streamTo(denseText_), toCompressed = streamTo(compressedText_)](const ProgressFn& progress) {
            const auto part = [&progress](double from, double to) {
                return ProgressFn([&progress, from, to](const Progress& p) {
                    return !progress || progress(Progress{from + (to - from) * p.fraction, p.stage});
                });
            };
            GenerateOptions g;
            g.max_positions = 100;
            Samples s;
            g.on_text = toDense;
            s.dense = generate(session->model(), session->tokenizer(), prompt, g, part(0, 0.25));
            g.drop_blocks = applied->drop_blocks;
            g.on_text = toCompressed;
            s.compressed = generate(*applied->model, session->tokenizer(), prompt, g, part(0.25, 0.5));
            // speeds from repeated runs: medians after a warm-up, with the spread
            DecodeSpeedOptions so;
            so.prompt_tokens = std::min<int64_t>(64, session->summary().max_position_embeddings / 2);
            so.decode_tokens = std::min<int64_t>(32, session->summary().max_position_embeddings / 2);
            s.denseSpeed = measureDecodeSpeed(session->model(), so, part(0.5, 0.75));
            so.drop_blocks = applied->drop_blocks;
            s.compressedSpeed = measureDecodeSpeed(*applied->model, so, part(0.75, 1));
            return s;
        },
        this,
        [this](const Samples& s) {
            denseText_->setPlainText(QString::fromStdString(s.dense.text));
            compressedText_->setPlainText(QString::fromStdString(s.compressed.text));
            denseSpeed_->setText(speedText(tr("dense"), s.denseSpeed));
            compressedSpeed_->setText(speedText(tr("compressed"), s.compressedSpeed) +
                                      tr("; %1× the dense decode").arg(s.compressedSpeed.decode.median / std::max(1e-9, s.denseSpeed.decode.median), 0, 'f', 2));
            Q_EMIT samplesReady();
        },
        [this](const JobEnd& end) {
            restoreButtons();
            if (!end.done())
                compressedSpeed_->setText(endText(end, tr("Generation")));
        });
}

// Every job's end gives the buttons back: Run whenever no run is going,
// Export and Generate whenever there is an applied plan to use.
void CompressView::restoreButtons()
{
    const bool running = runner_->isActive(runJob_);
    run_->setEnabled(session_ != nullptr && !running);
    export_->setEnabled(applied_ != nullptr && !running);
    generate_->setEnabled(applied_ != nullptr && !running);
}

QString CompressView::endText(const JobEnd& end, const QString& what)
{
    if (end.cancelled())
        return tr("%1 cancelled.").arg(what);
    return "<span style='color:#c0392b'>" + tr("%1 failed: %2").arg(what, end.message.toHtmlEscaped()) + "</span>";
}

} // namespace tailor::ui
