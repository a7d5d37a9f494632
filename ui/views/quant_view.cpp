#include "quant_view.h"
#include "ui/plan_binding.h"
#include "ui/plan_store.h"
#include "ui/job_runner.h"
#include "ui/plots/plot_view.h"
#include "ui/resource_paths.h"
#include "budget_panel.h"

#include "core/model/arch_table.h"
#include "core/model/model_session.h"
#include "core/formats/gguf/gguf_types.h"
#include "core/compress/budget_search.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <cmath>
#include <map>

namespace tailor::ui {

namespace {
// the heat map's columns: the block matrices of the role table (q k v o gate up down)
const QStringList kKinds = [] {
    QStringList k;
    for (const auto& kind : blockLinearKinds())
        k << QString::fromStdString(kind);
    return k;
}();
const QStringList kColumns = {"layer", "MSE", "max |err|", "SQNR dB", "output err", "kurtosis", ">3σ %", ">6σ %"};

double metricOf(const LayerQuantStats& l, int metric)
{
    switch (metric) {
    case 0: return l.output_rel_err;
    case 1: return -l.sqnr_db; // larger = worse, as the heat map reads
    default: return l.mse;
    }
}
} // namespace

QuantView::QuantView(JobRunner* runner, PlanStore* store, QWidget* parent) : QWidget(parent), runner_(runner)
{
    buildLayout();
    bindStore(store); // the one way a view reaches the plan
}

void QuantView::buildLayout()
{
    auto* root = new QHBoxLayout(this);
    auto* left = new QVBoxLayout;
    auto* form = new QFormLayout;
    format_ = new QComboBox(this);
    format_->addItem("linear");
    for (const std::string& n : ggmlSchemeNames()) // llama.cpp's block types, by its own quantizers
        format_->addItem(QString::fromStdString(n));
    format_->setToolTip(tr("linear: integer grid of your choice; q4_0 … q6_k: llama.cpp's block types, quantized exactly as a GGUF export writes them"));
    bits_ = new QSpinBox(this);
    bits_->setRange(2, 8);
    bits_->setValue(4);
    group_ = new QComboBox(this);
    group_->addItems({"32", "64", "128", "channel", "tensor"});
    symmetric_ = new QComboBox(this);
    symmetric_->addItems({"symmetric", "asymmetric"});
    clip_ = new QComboBox(this);
    clip_->addItems({"min-max", "MSE-optimal"});
    method_ = new QComboBox(this);
    method_->addItems({"round to nearest", "GPTQ", "GPTQ, act-order"});
    method_->setToolTip(tr("GPTQ compensates each column's rounding error on the calibration activations"));
    calib_ = new QLineEdit(demoCalibText(), this);
    metric_ = new QComboBox(this);
    metric_->addItems({"output error ‖WX−ŴX‖/‖WX‖", "−SQNR (dB)", "weight MSE", "log10 KLD, quantized alone",
                       "stored type (bits per weight)"});
    metric_->setItemData(3, tr("Each layer quantized alone with this scheme, the KL divergence of the next-token "
                               "distribution from the original's on the calibration text (measured in the background)"),
                         Qt::ToolTipRole);
    logCounts_ = new QCheckBox(tr("log counts"), this);
    logCounts_->setChecked(true);
    form->addRow(tr("Format"), format_);
    form->addRow(tr("Bits"), bits_);
    form->addRow(tr("Group"), group_);
    form->addRow(tr("Range"), symmetric_);
    form->addRow(tr("Clipping"), clip_);
    form->addRow(tr("Method"), method_);
    form->addRow(tr("Calibration"), calib_);
    form->addRow(tr("Heat map"), metric_);
    form->addRow(logCounts_);
    useInPlan_ = new QPushButton(tr("Use in plan"), this);
    useInPlan_->setToolTip(tr("This scheme and method become the compression plan's quantization (Compress & Export)"));
    useInPlan_->setEnabled(false);
    form->addRow(useInPlan_);
    connect(useInPlan_, &QPushButton::clicked, this, [this] {
        try {
            store_->setQuant(planQuant());
            status_->setText(tr("The plan quantizes with %1.").arg(QString::fromStdString(scheme().name())));
        } catch (const std::exception& e) {
            status_->setText(QString::fromUtf8(e.what()));
        }
    });
    left->addLayout(form);
    status_ = new QLabel(tr("Open a model."), this);
    status_->setWordWrap(true);
    left->addWidget(status_);
    model_ = new QStandardItemModel(this);
    model_->setHorizontalHeaderLabels(kColumns);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(Qt::UserRole);
    table_ = new QTableView(this);
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->sortByColumn(0, Qt::AscendingOrder);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    left->addWidget(table_, 1);
    auto* leftWidget = new QWidget(this);
    leftWidget->setLayout(left);
    leftWidget->setMaximumWidth(640);

    auto* grid = new QGridLayout;
    heatmap_ = new PlotView(this);
    heatmap_->setTitle(tr("Per layer: block × matrix"));
    histogram_ = new PlotView(this);
    histogram_->setTitle(tr("Weights (red: clipping range of the widest group; dotted: its grid)"));
    scales_ = new PlotView(this);
    scales_->setTitle(tr("Scales across groups"));
    error_ = new PlotView(this);
    error_->setTitle(tr("Quantization error ŵ − w"));
    grid->addWidget(heatmap_, 0, 0);
    grid->addWidget(histogram_, 0, 1);
    grid->addWidget(scales_, 1, 0);
    grid->addWidget(error_, 1, 1);
    auto* errors = new QWidget(this);
    errors->setLayout(grid);
    // one scheme's errors per layer, or a type per layer chosen for a size budget
    pages_ = new QTabWidget(this);
    pages_->addTab(errors, tr("Layer errors"));
    budget_ = new BudgetPanel(runner_, this);
    pages_->addTab(budget_, tr("Size budget (mixed precision)"));
    root->addWidget(leftWidget);
    root->addWidget(pages_, 1);
    connect(budget_, &BudgetPanel::message, this, &QuantView::message);

    debounce_ = new QTimer(this);
    debounce_->setSingleShot(true);
    debounce_->setInterval(250);
    connect(debounce_, &QTimer::timeout, this, &QuantView::recompute);
    auto changed = [this] {
        bits_->setEnabled(format_->currentIndex() == 0);
        group_->setEnabled(format_->currentIndex() == 0);
        symmetric_->setEnabled(format_->currentIndex() == 0);
        clip_->setEnabled(format_->currentIndex() == 0);
        if (session_)
            debounce_->start();
    };
    connect(format_, &QComboBox::currentIndexChanged, this, changed);
    connect(bits_, &QSpinBox::valueChanged, this, changed);
    connect(group_, &QComboBox::currentIndexChanged, this, changed);
    connect(symmetric_, &QComboBox::currentIndexChanged, this, changed);
    connect(clip_, &QComboBox::currentIndexChanged, this, changed);
    connect(method_, &QComboBox::currentIndexChanged, this, changed);
    connect(metric_, &QComboBox::currentIndexChanged, this, [this] { fillHeatmap(); });
    connect(logCounts_, &QCheckBox::toggled, this, [this] { loadHistogram(); });
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& cur) {
        const QString name = proxy_->data(proxy_->index(cur.row(), 0), Qt::UserRole + 1).toString();
        if (!name.isEmpty() && name != selected_) {
            selected_ = name;
            loadHistogram();
        }
    });
}

PlanQuant QuantView::planQuant() const
{
    PlanQuant q;
    q.scheme = scheme();
    q.method = method_->currentIndex() == 0 ? QuantMethod::Rtn : QuantMethod::Gptq;
    q.act_order = method_->currentIndex() == 2;
    return q;
}

void QuantView::bindStore(PlanStore* store)
{
    store_ = store;
    bindPlanText(calib_, store, PlanText::Calib);
    budget_->setPlanStore(store);
    useInPlan_->setEnabled(store_ != nullptr);
}

QuantScheme QuantView::scheme() const
{
    if (format_->currentIndex() > 0)
        return QuantScheme::parse(format_->currentText().toStdString());
    const QString g = group_->currentText();
    return QuantScheme::parse("int" + std::to_string(bits_->value()) + (symmetric_->currentIndex() == 0 ? "_sym_" : "_asym_") +
                              (g == "channel" || g == "tensor" ? g.toStdString() : "g" + g.toStdString()) +
                              (clip_->currentIndex() == 1 ? "_mse" : ""));
}

void QuantView::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    ++revision_;
    selected_.clear();
    model_->removeRows(0, model_->rowCount());
    budget_->setSession(session_);
    kldScheme_.clear();
    kldAlone_.clear();
    // a GGUF opens on its recipe: the type of every tensor
    const auto stored = session_ ? gguf::typeFromName(session_->summary().dtype) : std::nullopt;
    if (stored && gguf::typeInfo(*stored).quantized)
        metric_->setCurrentIndex(kStoredTypeMetric);
    else if (metric_->currentIndex() == kStoredTypeMetric)
        metric_->setCurrentIndex(0); // a float checkpoint: its layers' errors
    if (session_)
        recompute();
    if (session_ && metric_->currentIndex() == kStoredTypeMetric)
        fillStoredTypes();
}

void QuantView::selectLayer(const QString& name)
{
    for (int r = 0; r < proxy_->rowCount(); ++r)
        if (proxy_->data(proxy_->index(r, 0), Qt::UserRole + 1).toString() == name) {
            table_->setCurrentIndex(proxy_->index(r, 0));
            return;
        }
}

void QuantView::recompute()
{
    if (!session_)
        return;
    // Computed when shown: a 7B model's report takes minutes, and the user
    // may have opened the model for something else.
    reportPending_ = !isVisible();
    if (reportPending_)
        return;
    QuantOptions qo;
    qo.method = method_->currentIndex() == 0 ? QuantMethod::Rtn : QuantMethod::Gptq;
    qo.act_order = method_->currentIndex() == 2;
    try {
        qo.scheme = scheme();
    } catch (const std::exception& e) {
        status_->setText(QString::fromUtf8(e.what()));
        return;
    }
    auto session = session_;
    const std::string calibPath = store_->plan().calib;
    const int rev = ++revision_;
    const QString label = QString::fromStdString(qo.scheme.name()) + (qo.method == QuantMethod::Gptq ? " (GPTQ)" : "");
    status_->setText(tr("Quantizing with %1…").arg(label));
    runner_->submit<QuantReport>(
        tr("Quantize %1").arg(label),
        [session, calibPath, qo](const ProgressFn& p) {
            const TokenWindows calib = session->calibration(calibPath);
            QuantReport r = quantizeModel(session->model(), &calib, qo, p);
            r.model.reset(); // the view needs the numbers only
            return r;
        },
        this, [this, rev](const QuantReport& r) {
            if (rev != revision_)
                return; // a newer setting is on its way
            report_ = r;
            fillTable();
            fillHeatmap();
            status_->setText(tr("%1: %2 bits per weight over %3 layers%4")
                                 .arg(QString::fromStdString(r.scheme))
                                 .arg(r.bits_per_weight, 0, 'f', 3)
                                 .arg(r.layers.size())
                                 .arg(r.warnings.empty() ? QString() : tr("; %1 warnings (see log)").arg(r.warnings.size())));
            for (const auto& w : r.warnings)
                Q_EMIT message(QString::fromStdString(w));
            if (selected_.isEmpty() && !r.layers.empty())
                selected_ = QString::fromStdString(r.layers.front().name);
            selectLayer(selected_);
            loadHistogram();
            Q_EMIT reportReady();
        },
        [this, rev](const JobEnd& end) {
            if (rev != revision_)
                return; // superseded: the newer report's status stands
            if (end.failed())
                status_->setText(tr("Quantization failed: %1").arg(end.message));
            else if (end.cancelled())
                status_->setText(tr("Quantization cancelled."));
        },
        // a changed setting replaces the report being computed
        JobOptions{JobLane::Long, QStringLiteral("quant-report")});
}

void QuantView::fillTable()
{
    model_->removeRows(0, model_->rowCount());
    double worst = 0;
    for (const auto& l : report_.layers)
        worst = std::max(worst, std::isnan(l.output_rel_err) ? 0.0 : l.output_rel_err);
    for (const auto& l : report_.layers) {
        QList<QStandardItem*> row;
        auto cell = [&](const QString& text, double sortValue) {
            auto* it = new QStandardItem(text);
            it->setData(sortValue, Qt::UserRole);
            row << it;
        };
        // short label, sorted by block then matrix; the full name rides along
        cell(tr("block %1 · %2").arg(l.block).arg(QString::fromStdString(l.kind)),
             l.block * 10 + kKinds.indexOf(QString::fromStdString(l.kind)));
        row.back()->setData(QString::fromStdString(l.name), Qt::UserRole + 1);
        row.back()->setToolTip(QString::fromStdString(l.name));
        cell(QString::number(l.mse, 'g', 4), l.mse);
        cell(QString::number(l.max_abs_err, 'g', 4), l.max_abs_err);
        cell(QString::number(l.sqnr_db, 'f', 2), l.sqnr_db);
        cell(QString::number(l.output_rel_err, 'f', 4), l.output_rel_err);
        cell(QString::number(l.kurtosis, 'f', 2), l.kurtosis);
        cell(QString::number(100 * l.outliers_3sigma, 'f', 2), l.outliers_3sigma);
        cell(QString::number(100 * l.outliers_6sigma, 'f', 3), l.outliers_6sigma);
        // severity: share of the worst output error, white -> red
        const double sev = worst > 0 && !std::isnan(l.output_rel_err) ? l.output_rel_err / worst : 0;
        const QColor bg = QColor::fromRgbF(1.0, 1.0 - 0.55 * sev, 1.0 - 0.6 * sev);
        for (auto* it : row)
            it->setBackground(bg);
        if (l.nonfinite > 0)
            row.front()->setToolTip(tr("%1 NaN/Inf weights; left unquantized").arg(l.nonfinite));
        model_->appendRow(row);
    }
}

void QuantView::measureKldAlone()
{
    QuantScheme s;
    try {
        s = scheme();
    } catch (const std::exception&) {
        return;
    }
    if (s.format == QuantFormat::Linear && method_->currentIndex() != 0)
        status_->setText(tr("KLD per layer: round to nearest (GPTQ is not probed layer by layer)"));
    auto session = session_;
    const std::string calibPath = store_->plan().calib;
    const QString name = QString::fromStdString(s.name());
    const int rev = revision_;
    kldScheme_ = name;
    kldAlone_.clear();
    heatmap_->setPlaceholder(tr("measuring each layer's KLD with %1…").arg(name));
    runner_->submit<std::vector<TensorSensitivity>>(
        tr("KLD per layer, %1 alone").arg(name),
        [session, calibPath, s](const ProgressFn& p) {
            BudgetOptions o;
            o.schemes = {s.name()};
            o.probe = BudgetOptions::Probe::Every;
            return measureSensitivity(session->model(), session->calibration(calibPath), o, p);
        },
        this,
        [this, rev, name](const std::vector<TensorSensitivity>& t) {
            if (rev != revision_ || name != kldScheme_)
                return;
            for (const auto& x : t)
                if (!x.schemes.empty())
                    kldAlone_[x.name] = x.schemes[0].kld;
            heatmap_->setPlaceholder({});
            fillHeatmap();
            Q_EMIT kldReady();
        },
        [this, name](const JobEnd& e) {
            if (e.failed() || e.cancelled()) {
                if (name == kldScheme_)
                    kldScheme_.clear();
                heatmap_->setPlaceholder(e.failed() ? tr("KLD per layer failed: %1").arg(e.message) : QString());
            }
        },
        JobOptions{JobLane::Long, QStringLiteral("quant-kld-alone")});
}

// Bits per weight of a stored type ("Q4_K" 4.5, "BF16" 16): how an uploader's
// recipe reads on the heat map, a colour per type.
static double storedBits(const std::string& dtype)
{
    if (const auto t = gguf::typeFromName(dtype)) {
        const gguf::TypeInfo& i = gguf::typeInfo(*t);
        return 8.0 * double(i.blockBytes) / double(i.block);
    }
    return dtype == "F32" ? 32 : dtype == "F16" || dtype == "BF16" ? 16 : std::nan("");
}

// #28: the type each tensor is stored in (a GGUF's per-tensor overrides read
// back), from the model itself: no quantization report needed.
void QuantView::fillStoredTypes()
{
    const int blocks = int(session_->summary().n_layer);
    std::vector<std::vector<double>> v(std::size_t(blocks), std::vector<double>(7, std::nan("")));
    std::map<std::string, int> count;
    for (const TensorSummary& t : session_->summary().tensors) {
        const int k = int(kKinds.indexOf(QString::fromStdString(t.kind)));
        if (k < 0 || t.block < 0 || t.block >= blocks)
            continue;
        v[std::size_t(t.block)][std::size_t(k)] = storedBits(t.dtype);
        ++count[t.dtype];
    }
    QStringList rows;
    for (int b = 0; b < blocks; ++b)
        rows << QString::number(b);
    QStringList types;
    for (const auto& [type, n] : count)
        types << QString("%1 ×%2").arg(QString::fromStdString(type)).arg(n);
    storedTypes_ = types.join(", ");
    heatmap_->setPlaceholder({});
    heatmap_->setTitle(tr("Stored as %1").arg(storedTypes_));
    heatmap_->setHeatmap(v, rows, kKinds, tr("bits per weight"), 0);
}

void QuantView::fillHeatmap()
{
    if (session_ && metric_->currentIndex() == kStoredTypeMetric) {
        fillStoredTypes();
        return;
    }
    heatmap_->setTitle(tr("Per layer: block × matrix"));
    if (!session_ || report_.layers.empty())
        return;
    const int blocks = int(session_->summary().n_layer);
    std::vector<std::vector<double>> v(std::size_t(blocks), std::vector<double>(7, std::nan("")));
    const bool kld = metric_->currentIndex() == 3;
    QString current;
    try {
        current = QString::fromStdString(scheme().name());
    } catch (const std::exception&) {
    }
    if (kld && kldScheme_ != current) { // measured once per scheme, when asked for
        measureKldAlone();
        return;
    }
    for (const auto& l : report_.layers) {
        const int k = int(kKinds.indexOf(QString::fromStdString(l.kind)));
        if (k < 0 || l.block < 0 || l.block >= blocks)
            continue;
        if (kld) {
            const auto it = kldAlone_.find(l.name);
            if (it != kldAlone_.end())
                v[std::size_t(l.block)][std::size_t(k)] = std::log10(std::max(it->second, 1e-12));
        } else
            v[std::size_t(l.block)][std::size_t(k)] = metricOf(l, metric_->currentIndex());
    }
    QStringList rows;
    for (int b = 0; b < blocks; ++b)
        rows << QString::number(b);
    heatmap_->setHeatmap(v, rows, kKinds, metric_->currentText());
}

void QuantView::loadHistogram()
{
    if (!session_ || selected_.isEmpty())
        return;
    QuantScheme s;
    try {
        s = scheme();
    } catch (const std::exception&) {
        return;
    }
    auto session = session_;
    const std::string name = selected_.toStdString();
    const int rev = revision_;
    runner_->submit<WeightHistogram>(
        tr("Histogram of %1").arg(selected_), [session, name, s](const ProgressFn&) { return weightHistogram(session->model(), name, s); },
        this, [this, rev](const WeightHistogram& h) {
            if (rev != revision_)
                return;
            hist_ = h;
            const bool log = logCounts_->isChecked();
            for (PlotView* p : {histogram_, scales_, error_})
                p->setLogY(log);
            histogram_->setTitle(tr("block %1 %2: group %3 clips to [%4, %5]")
                                     .arg(selected_.section('.', 2, 2))
                                     .arg(selected_.section('.', 4, 4))
                                     .arg(h.group)
                                     .arg(h.clip_lo, 0, 'g', 4)
                                     .arg(h.clip_hi, 0, 'g', 4));
            histogram_->setHistogram(h.weights.edges, h.weights.counts);
            histogram_->setVerticalLines({h.clip_lo, h.clip_hi}, h.levels);
            scales_->setHistogram(h.scales.edges, h.scales.counts);
            error_->setHistogram(h.error.edges, h.error.counts);
            Q_EMIT histogramReady();
        },
        [this](const JobEnd& end) {
            if (end.failed())
                status_->setText(tr("Histogram failed: %1").arg(end.message));
        },
        // one layer's histogram takes milliseconds: it never waits for a scan
        JobOptions{JobLane::Short, QStringLiteral("histogram")});
}

void QuantView::showEvent(QShowEvent* e)
{
    QWidget::showEvent(e);
    if (reportPending_)
        recompute();
}

} // namespace tailor::ui
