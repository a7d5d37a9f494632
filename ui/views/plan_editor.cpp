#include "plan_editor.h"
#include "ui/plan_binding.h"
#include "ui/plan_store.h"
#include "ui/models/quant_rules_model.h"
#include "ui/resource_paths.h"

#include "core/compress/plan_prediction.h"
#include "core/model/model_session.h"
#include "core/quant/quant_scheme.h"
#include "core/util/block_list.h"
#include "core/util/error.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>

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

PlanEditor::PlanEditor(PlanStore* store, QWidget* parent) : QWidget(parent), store_(store)
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
    // per-layer rules (a budget's pick, a loaded plan): the store's, edited in place
    rulesModel_ = new QuantRulesModel(store_, this);
    rules_ = new QTableView(this);
    rules_->setModel(rulesModel_);
    rules_->horizontalHeader()->setSectionResizeMode(QuantRulesModel::Layers, QHeaderView::Stretch);
    rules_->horizontalHeader()->setSectionResizeMode(QuantRulesModel::Scheme, QHeaderView::ResizeToContents);
    rules_->setSelectionBehavior(QAbstractItemView::SelectRows);
    rules_->setToolTip(tr("The first rule whose pattern a layer's name contains gives its scheme; double-click to edit"));
    // one line a rule, about five rules in view
    rules_->setWordWrap(false);
    rules_->setTextElideMode(Qt::ElideMiddle);
    rules_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    rules_->setMinimumHeight(6 * (fontMetrics().height() + 6));
    rules_->setMaximumHeight(8 * (fontMetrics().height() + 6));
    removeRule_ = new QPushButton(tr("Remove rule"), this);
    auto* rulesRow = new QHBoxLayout;
    rulesRow->addWidget(rules_, 1);
    rulesRow->addWidget(removeRule_, 0, Qt::AlignTop);
    rulesLabel_ = new QLabel(tr("Rules"), this);
    planForm->addRow(rulesLabel_, rulesRow);
    planForm->addRow(tr("Calibration"), calib_);
    planForm->addRow(prediction_);

    heal_ = new QCheckBox(tr("Heal after dropping and factorizing"), this);
    healMethod_ = new QComboBox(this);
    healMethod_->addItem(tr("LoRA (training)"), QStringLiteral("lora"));
    healMethod_->addItem(tr("LoRA on the last blocks only"), QStringLiteral("last-layers"));
    healMethod_->addItem(tr("linear map per dropped span (no training)"), QStringLiteral("linear"));
    healLayers_ = new QSpinBox(this);
    healLayers_->setRange(1, 1000);
    healLayers_->setValue(2);
    healLayers_->setToolTip(tr("LoRA on the last blocks only: how many of the last kept blocks get adapters (the others run frozen)"));
    healMethod_->setToolTip(tr("Linear: each span of dropped blocks is replaced by one least-squares map of the hidden state, "
                               "fitted on the text and merged into the block before the span"));
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
    healForm->addRow(tr("Method"), healMethod_);
    healForm->addRow(tr("Last blocks"), healLayers_);
    healForm->addRow(tr("Training text"), healText_);
    healForm->addRow(tr("Steps"), healSteps_);
    healForm->addRow(tr("LoRA rank (α = 2r)"), healRank_);
    healForm->addRow(tr("Learning rate"), healLr_);
    healForm->addRow(tr("Distillation weight"), kd_);
    healForm->addRow(tr("Temperature"), temperature_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(planBox);
    layout->addWidget(healBox);

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
    for (QSpinBox* box : {healSteps_, healRank_, healLayers_})
        connect(box, &QSpinBox::valueChanged, this, [this] { storeHeal(); });
    for (QDoubleSpinBox* box : {healLr_, kd_, temperature_})
        connect(box, &QDoubleSpinBox::valueChanged, this, [this] { storeHeal(); });
    connect(heal_, &QCheckBox::toggled, this, [this] { storeHeal(); });
    connect(healMethod_, &QComboBox::currentIndexChanged, this, [this] { storeHeal(); });
    connect(healText_, &QLineEdit::textChanged, this, [this] { storeHeal(); });
    connect(rulesModel_, &QuantRulesModel::refused, this, [this](const QString& why) {
        prediction_->setText("<span style='color:#c0392b'>" + why.toHtmlEscaped() + "</span>");
    });
    connect(removeRule_, &QPushButton::clicked, this, [this] {
        const QModelIndex cur = rules_->currentIndex();
        if (cur.isValid())
            rulesModel_->removeRows(cur.row(), 1);
    });
    connect(clearWidth_, &QPushButton::clicked, this, [this] { store_->setWidth(std::nullopt); });
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
    connect(store_, &PlanStore::changed, this, [this](PlanStore::Parts parts) {
        showStore(parts);
        updatePrediction();
    });
    showStore(PlanStore::all());
}

void PlanEditor::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    updatePrediction();
}

CompressionPlan PlanEditor::plan() const
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

void PlanEditor::setPlan(const CompressionPlan& p)
{
    store_->setPlan(p, p.quant ? tr("%1 rules from the plan").arg(p.quant->rules.size()) : QString());
}

void PlanEditor::storeHeal()
{
    healError_.clear();
    if (!heal_->isChecked()) {
        store_->setHeal(std::nullopt);
        return;
    }
    PlanHeal h = store_->plan().heal.value_or(PlanHeal{});
    h.method = healMethod_->currentData().toString().toStdString();
    h.options.last_blocks = h.method == "last-layers" ? healLayers_->value() : 0;
    h.text = healText_->text().trimmed().toStdString();
    h.options.steps = healSteps_->value();
    h.options.rank = healRank_->value();
    h.options.alpha = 2.0 * healRank_->value();
    h.options.lr = healLr_->value();
    h.options.kd_weight = kd_->value();
    h.options.temperature = temperature_->value();
    try {
        if (h.isLinear())
            h.linear.validate();
        else
            h.options.validate();
        store_->setHeal(h);
    } catch (const std::exception& e) {
        healError_ = std::string("healing: ") + e.what();
    }
    updatePrediction();
}

void PlanEditor::showStore(PlanStore::Parts parts)
{
    const CompressionPlan& p = store_->plan();
    if (parts & PlanStore::Whiten) {
        const QSignalBlocker quiet(whiten_);
        whiten_->setChecked(p.whiten);
    }
    if (parts & PlanStore::Heal) {
        const QSignalBlocker q1(heal_), q2(healText_), q3(healSteps_), q4(healRank_), q5(healLr_), q6(kd_), q7(temperature_),
            q8(healMethod_), q9(healLayers_);
        heal_->setChecked(p.heal.has_value());
        if (p.heal) // unchecked, the boxes keep the last settings for the next time
            healMethod_->setCurrentIndex(healMethod_->findData(QString::fromStdString(p.heal->method)));
        // LoRA's settings mean nothing to a fitted map
        for (QWidget* w : std::initializer_list<QWidget*>{healSteps_, healRank_, healLr_, kd_, temperature_})
            w->setEnabled(!p.heal || !p.heal->isLinear());
        healLayers_->setEnabled(p.heal && p.heal->method == "last-layers");
        if (p.heal && p.heal->options.last_blocks > 0)
            healLayers_->setValue(int(p.heal->options.last_blocks));
        if (p.heal) {
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
    if (parts & (PlanStore::Width | PlanStore::Experts)) {
        // a mixture's expert cut (the Experts view) is shown beside the width cut
        const QString experts = !p.experts ? QString()
                                           : tr("%1 experts kept per block (by %2)")
                                                 .arg(p.experts->keep.empty() ? int64_t(p.experts->keep_count) : int64_t(p.experts->keep[0].size()))
                                                 .arg(QString::fromStdString(p.experts->criterion));
        if (!p.width) {
            widthLabel_->setText(experts.isEmpty() ? tr("none") : experts);
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
                                     .arg(p.width_criterion.empty() ? QString() : tr(", by %1").arg(QString::fromStdString(p.width_criterion))) +
                                 (experts.isEmpty() ? QString() : "; " + experts));
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
        const bool mixed = p.quant && !p.quant->rules.empty();
        for (QWidget* w : {static_cast<QWidget*>(rules_), static_cast<QWidget*>(removeRule_), static_cast<QWidget*>(rulesLabel_)})
            w->setVisible(mixed);
    }
}

void PlanEditor::storeQuantChoice()
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

void PlanEditor::updatePrediction()
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

} // namespace tailor::ui
