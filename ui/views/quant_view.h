#pragma once
// The Quantization view (#5): every linear layer's error under one scheme in a
// sortable table coloured by severity and a block × matrix heat map; the
// selected layer's weight histogram with the clipping range and grid levels of
// its widest group, the distribution of group scales, and the error histogram.
// Changing bits, group, symmetry or clipping recomputes in the background.
// A second page finds a type per layer for a size budget (budget_panel.h).
#include "core/compress/compression_plan.h"
#include "core/quant/quant_report.h"
#include "core/quant/weight_histogram.h"

#include <QWidget>
#include <limits>
#include <map>
#include <memory>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QSpinBox;
class QStandardItemModel;
class QTabWidget;
class QTableView;
class QTimer;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class BudgetPanel;
class PlanStore;
class JobRunner;
class PlotView;

class QuantView : public QWidget {
    Q_OBJECT
public:
    QuantView(JobRunner* runner, PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    QuantScheme scheme() const;
    void selectLayer(const QString& name);
    QSpinBox* bitsSpin() const { return bits_; }
    QComboBox* formatBox() const { return format_; }
    QComboBox* methodBox() const { return method_; }
    QComboBox* heatmapMetric() const { return metric_; }
    static constexpr int kStoredTypeMetric = 4; // the heat map of stored types
    // "Q5_0 ×66, Q8_0 ×18": the stored types of the heat map's matrices
    const QString& storedTypes() const { return storedTypes_; }
    PlotView* heatmapPlot() const { return heatmap_; }
    // KLD with the layer alone quantized (NaN until measured).
    double kldAlone(const std::string& layer) const
    {
        const auto it = kldAlone_.find(layer);
        return it == kldAlone_.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
    }
    // The scheme and method as the plan takes them (act-order included);
    // "Use in plan" puts it in the plan store. Throws Error on a bad scheme.
    PlanQuant planQuant() const;
    QPushButton* useInPlanButton() const { return useInPlan_; }
    QTableView* table() const { return table_; }
    PlotView* histogramPlot() const { return histogram_; }
    const WeightHistogram& lastHistogram() const { return hist_; }
    const QuantReport& report() const { return report_; }
    QString selectedLayer() const { return selected_; }
    BudgetPanel* budgetPanel() const { return budget_; }
    QTabWidget* pages() const { return pages_; }

Q_SIGNALS:
    void reportReady();
    void histogramReady();
    void kldReady(); // the per-layer KLD heat map is filled
    void message(const QString& line);

public Q_SLOTS:
    void recompute();

protected:
    void showEvent(QShowEvent* e) override;

private:
    void bindStore(PlanStore* store);
    bool reportPending_ = false;
    void buildLayout();
    void fillTable();
    void fillStoredTypes();
    void fillHeatmap();
    void loadHistogram();
    void measureKldAlone();

    JobRunner* runner_;
    PlanStore* store_ = nullptr;
    QPushButton* useInPlan_;
    std::shared_ptr<ModelSession> session_;
    QComboBox* format_;
    QSpinBox* bits_;
    QComboBox* group_;
    QComboBox* symmetric_;
    QComboBox* clip_;
    QComboBox* method_;
    QLineEdit* calib_;
    QComboBox* metric_;
    QCheckBox* logCounts_;
    QLabel* status_;
    QStandardItemModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* table_;
    PlotView* heatmap_;
    QString storedTypes_;
    PlotView* histogram_;
    PlotView* scales_;
    PlotView* error_;
    QTimer* debounce_;
    QTabWidget* pages_;
    BudgetPanel* budget_;
    QuantReport report_;
    WeightHistogram hist_;
    QString selected_;
    QString kldScheme_;                      // the scheme kldAlone_ is for (or being measured for)
    std::map<std::string, double> kldAlone_; // per layer, KLD when quantized alone
    int revision_ = 0;
};

} // namespace tailor::ui
