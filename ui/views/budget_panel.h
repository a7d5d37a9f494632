#pragma once
// The Quantization view's "Size budget" tab (#16): give a target (bits per
// linear weight, or the size of the GGUF file in MB) and Tailor measures each
// layer's KL-divergence sensitivity, chooses a type per layer, and measures the
// KLD of the chosen plan, of plans along the Pareto curve and of the uniform
// schemes (or llama-quantize's mixtures) — all as one background job. The
// Pareto chart shows size against measured KLD with the chosen plan starred;
// the heat map beside it shows each layer's KLD when quantized alone.
// Clicking a point picks that plan: planPicked hands it to the Compress view.
// "Add files" measures GGUF files (anyone's quantizations of this model) on the
// same evaluation windows and draws each as a labelled point beside the plans.
#include "core/compress/compression_plan.h"
#include "core/compress/budget_search.h"
#include "core/eval/file_comparison.h"

#include <QWidget>
#include <memory>
#include <optional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;
class PlanStore;
class PlotView;

class BudgetPanel : public QWidget {
    Q_OBJECT
public:
    BudgetPanel(JobRunner* runner, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);
    // The calibration and evaluation texts are the plan store's.
    void setPlanStore(PlanStore* store);

    QComboBox* targetKind() const { return kind_; }
    QDoubleSpinBox* targetValue() const { return value_; }
    QComboBox* candidates() const { return candidates_; }
    QSpinBox* evalWindows() const { return windows_; }
    // Measure block types on int8 GEMM, as llama.cpp computes (#32), instead of exact fp32.
    QCheckBox* int8Products() const { return int8_; }
    QPushButton* findButton() const { return find_; }
    QPushButton* addFilesButton() const { return addFiles_; }
    // Model files measured against the open model on the evaluation text,
    // drawn as labelled points beside the plans (#28).
    const std::vector<ComparedFile>& importedFiles() const { return imported_; }
    static constexpr int kImportedSeries = 3;
    PlotView* paretoPlot() const { return pareto_; }
    PlotView* sensitivityPlot() const { return sensitivity_; }
    QLabel* summary() const { return summary_; }
    const std::optional<BudgetResult>& result() const { return result_; }
    // The plan behind a point of the Pareto chart (series as drawn: 0 the
    // measured frontier, 1 the references, 2 the chosen plan).
    const BudgetPlan* planAt(int series, int index) const;
    const BudgetPlan* picked() const { return picked_; }

Q_SIGNALS:
    void resultReady();
    void planPicked(const tailor::PlanQuant& quant, const QString& label);
    void message(const QString& line);

public Q_SLOTS:
    void find();
    void pick(int series, int index);
    // Measures these files (GGUF or HF) against the open model, then draws them.
    void addFiles(const QStringList& files);

private:
    void showResult(); // the budget's plans (if found) and the imported files
    double toDisplay(const BudgetPlan& p) const; // the x of a plan on the chart

    JobRunner* runner_;
    std::shared_ptr<ModelSession> session_;
    PlanStore* store_ = nullptr;
    QComboBox* kind_;
    QDoubleSpinBox* value_;
    QComboBox* candidates_;
    QLineEdit* evalText_;
    QSpinBox* windows_;
    QCheckBox* int8_;
    bool resultInt8_ = false; // the shown plans were measured on int8
    QPushButton* find_;
    QPushButton* addFiles_;
    QLabel* status_;
    QLabel* summary_;
    PlotView* pareto_;
    PlotView* sensitivity_;
    std::optional<BudgetResult> result_;
    std::vector<ComparedFile> imported_;
    std::vector<std::vector<const BudgetPlan*>> drawn_; // per series, the plans in drawing order
    const BudgetPlan* picked_ = nullptr;
    int revision_ = 0;
};

} // namespace tailor::ui
