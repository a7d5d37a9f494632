#include "budget_panel.h"
#include "ui/plan_binding.h"
#include "ui/plan_store.h"
#include "core/model/arch_table.h"
#include "ui/job_runner.h"
#include "ui/plots/plot_view.h"
#include "ui/resource_paths.h"
#include "core/model/model_session.h"
#include "core/util/token_windows.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

#include <algorithm>
#include <QFileInfo>
#include <QFileDialog>
#include <QRegularExpression>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>

namespace tailor::ui {

namespace {
// the heat map's columns: the block matrices of the role table
const QStringList kMatrices = [] {
    QStringList k;
    for (const auto& kind : blockLinearKinds())
        k << QString::fromStdString(kind);
    return k;
}();

// "q4_k: 4.500 bits/weight, KLD ..." (without the label where the text names the plan already)
QString describe(const BudgetPlan& p, bool file, bool withLabel = true)
{
    QString size = file ? QString("%1 MB").arg(double(p.file_bytes) / 1e6, 0, 'f', 3)
                        : QString("%1 bits/weight").arg(p.bits_per_weight, 0, 'f', 3);
    return QString("%1%2, KLD %3, top-1 %4 %, PPL %5")
        .arg(withLabel ? QString::fromStdString(p.label) + ": " : QString(), size)
        .arg(p.measured.kld_mean, 0, 'g', 4)
        .arg(100 * p.measured.top1_agreement, 0, 'f', 2)
        .arg(p.measured.ppl, 0, 'f', 4);
}
} // namespace

BudgetPanel::BudgetPanel(JobRunner* runner, QWidget* parent) : QWidget(parent), runner_(runner)
{
    auto* root = new QVBoxLayout(this);
    auto* controls = new QHBoxLayout;
    auto* form = new QFormLayout;
    kind_ = new QComboBox(this);
    kind_->addItems({tr("bits per linear weight"), tr("GGUF file size (MB)")});
    value_ = new QDoubleSpinBox(this);
    value_->setDecimals(3);
    value_->setRange(1, 16);
    value_->setValue(4.5);
    value_->setSingleStep(0.25);
    candidates_ = new QComboBox(this);
    candidates_->addItems({tr("llama.cpp types and linear int2–int8"), tr("llama.cpp types only")});
    candidates_->setToolTip(tr("A GGUF file holds llama.cpp's types only; a file-size target always uses them"));
    evalText_ = new QLineEdit(demoEvalText(), this);
    windows_ = new QSpinBox(this);
    windows_->setRange(1, 100000);
    windows_->setValue(32);
    windows_->setToolTip(tr("Windows of 256 tokens of the evaluation text each plan's KLD is measured on"));
    form->addRow(tr("Target"), kind_);
    form->addRow(tr("Value"), value_);
    form->addRow(tr("Candidates"), candidates_);
    form->addRow(tr("Evaluation text"), evalText_);
    form->addRow(tr("Evaluation windows"), windows_);
    int8_ = new QCheckBox(tr("int8 products, as llama.cpp computes (faster)"), this);
    int8_->setToolTip(tr("Measure the plans' llama.cpp block types on int8 GEMM against inputs rounded to Q8_0, the arithmetic "
                         "of llama.cpp and of Tailor's decoder; unticked, on fp32 over the decoded weights (exact)"));
    form->addRow(tr("Measurement"), int8_);
    controls->addLayout(form, 1);
    find_ = new QPushButton(tr("Find the plan"), this);
    find_->setToolTip(tr("Measures each layer's KLD sensitivity on the calibration text, chooses a type per layer, and "
                         "measures the chosen plan, the Pareto curve and the uniform types (a background job; cancel it in the Jobs dock)"));
    addFiles_ = new QPushButton(tr("Add GGUF files…"), this);
    addFiles_->setToolTip(tr("Measure model files (anyone's quantizations of this model) against it on the evaluation text and "
                             "show each as a point on the chart"));
    auto* buttons = new QVBoxLayout;
    buttons->addWidget(find_);
    buttons->addWidget(addFiles_);
    buttons->addStretch(1);
    controls->addLayout(buttons);
    root->addLayout(controls);
    status_ = new QLabel(tr("Choose a target and find the plan."), this);
    status_->setWordWrap(true);
    root->addWidget(status_);
    auto* charts = new QHBoxLayout;
    pareto_ = new PlotView(this);
    pareto_->setTitle(tr("Size against measured KLD — click a point to pick its plan"));
    pareto_->setAxisLabels(tr("bits per linear weight"), tr("mean KLD from the original (nats)"));
    pareto_->setLogY(true);
    pareto_->setPlaceholder(tr("not computed"));
    sensitivity_ = new PlotView(this);
    sensitivity_->setTitle(tr("log10 KLD with one layer quantized alone"));
    sensitivity_->setPlaceholder(tr("not computed"));
    charts->addWidget(pareto_, 3);
    charts->addWidget(sensitivity_, 2);
    root->addLayout(charts, 1);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    root->addWidget(summary_);

    connect(find_, &QPushButton::clicked, this, &BudgetPanel::find);
    connect(addFiles_, &QPushButton::clicked, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(this, tr("Model files to compare"), {}, tr("GGUF models (*.gguf)"));
        if (!files.isEmpty())
            addFiles(files);
    });
    connect(pareto_, &PlotView::pointClicked, this, &BudgetPanel::pick);
    connect(kind_, &QComboBox::currentIndexChanged, this, [this](int k) {
        // a file size starts from the model's size at 4.5 bits per weight
        if (k == 1) {
            value_->setRange(0.001, 1e6);
            value_->setSingleStep(0.1);
            if (session_)
                value_->setValue(double(session_->summary().parameters) * 4.5 / 8 / 1e6);
        } else {
            value_->setRange(1, 16);
            value_->setSingleStep(0.25);
            value_->setValue(4.5);
        }
        candidates_->setEnabled(k == 0);
    });
}

void BudgetPanel::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    ++revision_;
    result_.reset();
    imported_.clear();
    picked_ = nullptr;
    drawn_.clear();
    pareto_->setScatter({});
    pareto_->setPlaceholder(tr("not computed"));
    sensitivity_->setPlaceholder(tr("not computed"));
    summary_->clear();
    status_->setText(tr("Choose a target and find the plan."));
}

void BudgetPanel::setPlanStore(PlanStore* store)
{
    store_ = store;
    bindPlanText(evalText_, store, PlanText::Eval);
}

void BudgetPanel::find()
{
    if (!session_) {
        status_->setText(tr("Open a model first."));
        return;
    }
    BudgetOptions o;
    const bool file = kind_->currentIndex() == 1;
    o.target = file ? BudgetTarget::GgufFileBytes : BudgetTarget::LinearBitsPerWeight;
    o.value = file ? std::floor(value_->value() * 1e6) : value_->value();
    if (!file && candidates_->currentIndex() == 1)
        o.schemes = defaultBudgetSchemes(BudgetTarget::GgufFileBytes);
    o.int8_products = int8_->isChecked();
    const auto s = session_;
    const std::string calib = store_->plan().calib, evalPath = store_->plan().eval_text;
    const int64_t windows = windows_->value();
    const int rev = ++revision_;
    find_->setEnabled(false);
    status_->setText(tr("Measuring layer sensitivities and plans…"));
    runner_->submit<BudgetResult>(
        tr("Size budget (%1 %2)").arg(value_->value()).arg(file ? "MB" : "bits/weight"),
        [s, calib, evalPath, windows, o](const ProgressFn& p) {
            CalibOptions co;
            co.windows = 10;
            co.seq_len = 128;
            const TokenWindows c = s->calibration(calib, co);
            const TokenWindows e = cutWindows(s->tokenizeFile(evalPath), 256, windows, evalPath);
            return searchBudget(s->model(), c, e, o, p);
        },
        this,
        [this, rev, int8 = o.int8_products](const BudgetResult& r) {
            if (rev != revision_)
                return;
            result_ = r;
            resultInt8_ = int8;
            showResult();
            Q_EMIT resultReady();
        },
        [this, rev](const JobEnd& e) {
            if (rev != revision_)
                return;
            find_->setEnabled(true);
            if (e.failed()) {
                status_->setText(tr("Failed: %1").arg(e.message));
                Q_EMIT message(tr("size budget failed: %1").arg(e.message));
            } else if (e.cancelled())
                status_->setText(tr("Cancelled."));
        },
        JobOptions{JobLane::Long, QStringLiteral("size-budget")});
}

void BudgetPanel::addFiles(const QStringList& files)
{
    if (!session_) {
        status_->setText(tr("Open a model first."));
        return;
    }
    const auto s = session_;
    std::vector<std::string> paths;
    for (const QString& f : files)
        paths.push_back(f.toStdString());
    const std::string evalPath = store_->plan().eval_text;
    FileComparisonOptions o;
    o.seq_len = 256; // the windows the budget's plans are measured on
    o.max_windows = windows_->value();
    o.text_label = evalPath;
    o.int8_products = int8_->isChecked();
    const int rev = revision_;
    addFiles_->setEnabled(false);
    status_->setText(tr("Measuring %n file(s) against the model…", "", int(files.size())));
    runner_->submit<std::vector<ComparedFile>>(
        tr("Compare %n file(s)", "", int(files.size())),
        [s, paths, evalPath, o](const ProgressFn& p) { return compareFiles(*s, paths, evalPath, o, p); },
        this,
        [this, rev, int8 = o.int8_products](const std::vector<ComparedFile>& rows) {
            if (rev != revision_)
                return;
            for (const ComparedFile& f : rows) {
                imported_.erase(std::remove_if(imported_.begin(), imported_.end(), [&](const ComparedFile& g) { return g.path == f.path; }),
                                imported_.end());
                imported_.push_back(f);
            }
            showResult();
            status_->setText(int8 ? tr("%n file(s) measured on the evaluation text, on int8 products.", "", int(rows.size()))
                                  : tr("%n file(s) measured on the evaluation text.", "", int(rows.size())));
        },
        [this, rev](const JobEnd& e) {
            if (rev != revision_)
                return;
            addFiles_->setEnabled(true);
            if (e.failed()) {
                status_->setText(tr("Failed: %1").arg(e.message));
                Q_EMIT message(tr("comparing files failed: %1").arg(e.message));
            } else if (e.cancelled())
                status_->setText(tr("Cancelled."));
        },
        JobOptions{JobLane::Long, QStringLiteral("compare-files")});
}

double BudgetPanel::toDisplay(const BudgetPlan& p) const
{
    return result_ && result_->target == BudgetTarget::GgufFileBytes ? double(p.file_bytes) / 1e6 : p.bits_per_weight;
}

void BudgetPanel::showResult()
{
    const bool file = result_ ? result_->target == BudgetTarget::GgufFileBytes : kind_->currentIndex() == 1;
    picked_ = nullptr;
    drawn_.assign(3, {});
    std::vector<ScatterSeries> series(4);
    series[kImportedSeries] = {tr("files"), ScatterSeries::Shape::Files, {}, {}, {}, {}};
    for (const ComparedFile& f : imported_) {
        series[kImportedSeries].x.push_back(file ? double(f.file_bytes) / 1e6 : f.linear_bpw);
        series[kImportedSeries].y.push_back(std::max(f.fidelity.kld_mean, 1e-9));
        series[kImportedSeries].labels << QString("%1: %2").arg(QFileInfo(QString::fromStdString(f.path)).fileName())
                                                 .arg(f.fidelity.kld_mean, 0, 'g', 3);
    }
    if (!result_) {
        pareto_->setAxisLabels(file ? tr("GGUF file size (MB)") : tr("bits per linear weight"), tr("mean KLD from the original (nats)"));
        pareto_->setPlaceholder({});
        pareto_->setScatter(series);
        return;
    }
    const BudgetResult& r = *result_;
    if (imported_.empty())
        series.resize(3);
    series[0] = {tr("plans along the predicted curve"), ScatterSeries::Shape::Curve, {}, {}, {}, {}};
    series[1] = {file ? tr("llama-quantize types") : tr("uniform schemes"), ScatterSeries::Shape::Points, {}, {}, {}, {}};
    series[2] = {tr("chosen"), ScatterSeries::Shape::Highlight, {}, {}, {}, {}};
    auto add = [&](int k, const BudgetPlan& p) {
        series[std::size_t(k)].x.push_back(toDisplay(p));
        series[std::size_t(k)].y.push_back(std::max(p.measured.kld_mean, 1e-9));
        series[std::size_t(k)].labels << describe(p, file);
        drawn_[std::size_t(k)].push_back(&p);
    };
    for (const auto& p : r.frontier)
        add(0, p);
    for (const auto& p : r.references)
        add(1, p);
    add(2, r.chosen);
    pareto_->setAxisLabels(file ? tr("GGUF file size (MB)") : tr("bits per linear weight"), tr("mean KLD from the original (nats)"));
    pareto_->setPlaceholder({});
    pareto_->setScatter(series);

    int blocks = 0;
    for (const auto& t : r.tensors)
        blocks = std::max(blocks, t.block + 1);
    std::vector<std::vector<double>> cells(std::size_t(blocks), std::vector<double>(std::size_t(kMatrices.size()), std::nan("")));
    for (const auto& t : r.tensors) {
        const int col = int(kMatrices.indexOf(QString::fromStdString(t.kind)));
        for (const auto& s : t.schemes)
            if (s.measured && col >= 0)
                cells[std::size_t(t.block)][std::size_t(col)] = std::log10(std::max(s.kld, 1e-12));
    }
    QStringList rows;
    for (int b = 0; b < blocks; ++b)
        rows << QString::number(b);
    sensitivity_->setPlaceholder({});
    sensitivity_->setHeatmap(cells, rows, kMatrices, tr("log10 KLD"));

    // the best reference of no larger size, for the comparison the budget is about
    const BudgetPlan* best = nullptr;
    for (const auto& p : r.references)
        if (toDisplay(p) <= toDisplay(r.chosen) * (1 + 1e-12) && (!best || p.measured.kld_mean < best->measured.kld_mean))
            best = &p;
    QString text = tr("Chosen plan: %1 (predicted KLD %2).").arg(describe(r.chosen, file, false)).arg(r.chosen.predicted_kld, 0, 'g', 4);
    if (best)
        text += tr(" Best %1 of no larger size — %2.").arg(file ? tr("llama-quantize type") : tr("uniform scheme"), describe(*best, file));
    if (resultInt8_)
        text += tr(" KLD measured on int8 products (llama.cpp's arithmetic).");
    for (const auto& w : r.warnings)
        text += "\n" + tr("warning: %1").arg(QString::fromStdString(w));
    summary_->setText(text);
    status_->setText(tr("Achievable: %1 to %2 %3. Click a point to use its plan in Compress & Export.")
                         .arg(file ? r.min_value / 1e6 : r.min_value, 0, 'f', 3)
                         .arg(file ? r.max_value / 1e6 : r.max_value, 0, 'f', 3)
                         .arg(file ? tr("MB") : tr("bits per linear weight")));
}

const BudgetPlan* BudgetPanel::planAt(int series, int index) const
{
    if (series < 0 || series >= int(drawn_.size()) || index < 0 || index >= int(drawn_[std::size_t(series)].size()))
        return nullptr;
    return drawn_[std::size_t(series)][std::size_t(index)];
}

void BudgetPanel::pick(int series, int index)
{
    if (series == kImportedSeries && index >= 0 && index < int(imported_.size())) {
        const ComparedFile& f = imported_[std::size_t(index)];
        summary_->setText(tr("%1: %2 MB, %3 bits per weight (mostly %4), PPL %5, mean KLD %6, p99 %7, top-1 agreement %8%.")
                              .arg(QString::fromStdString(f.path))
                              .arg(double(f.file_bytes) / 1e6, 0, 'f', 2)
                              .arg(f.bpw, 0, 'f', 2)
                              .arg(QString::fromStdString(f.main_type))
                              .arg(f.fidelity.ppl, 0, 'f', 4)
                              .arg(f.fidelity.kld_mean, 0, 'g', 4)
                              .arg(f.fidelity.kld_p99, 0, 'g', 4)
                              .arg(100 * f.fidelity.top1_agreement, 0, 'f', 2));
        return;
    }
    const BudgetPlan* p = planAt(series, index);
    if (!p)
        return;
    picked_ = p;
    const bool file = result_->target == BudgetTarget::GgufFileBytes;
    if (p->scheme.empty()) { // a llama-quantize mixture: its type is the plan
        summary_->setText(tr("Picked %1 — export it with GGUF type %2.").arg(describe(*p, file), QString::fromStdString(p->label)));
        Q_EMIT message(tr("picked the llama-quantize type %1").arg(QString::fromStdString(p->label)));
        return;
    }
    PlanQuant q;
    const QuantScheme first = p->scheme.begin()->second;
    bool uniform = true;
    for (const auto& [n, s] : p->scheme)
        uniform = uniform && s == first;
    if (uniform)
        q.scheme = first;
    else
        for (const auto& [n, s] : p->scheme)
            q.rules.push_back({"^" + QRegularExpression::escape(QString::fromStdString(n)).toStdString() + "$", s});
    summary_->setText(tr("Picked %1 — now the quantization of the plan in Compress & Export.").arg(describe(*p, file)));
    Q_EMIT planPicked(q, QString::fromStdString(p->label));
    Q_EMIT message(tr("picked %1 as the plan's quantization").arg(describe(*p, file)));
}

} // namespace tailor::ui
