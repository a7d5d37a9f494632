#pragma once
// The Compress & Export view (#7): the plan of the PlanStore (blocks marked
// in Blocks, ranks of Low rank, the quantization and widths the other views
// put in the plan, or a plan file) with its engine-predicted parameters, size
// and speed-up (predictPlan), healing settings, a Run button (progress per
// stage in the job dock), the before/after table, the live healing loss, an
// export dialog (export_dialog.h: Hugging Face folder or GGUF, with a report),
// and the prompt box (samples_panel.h) with the dense and the compressed
// model's continuations and speeds side by side.
#include "core/compress/apply_plan.h"
#include "ui/plan_store.h"

#include <QWidget>
#include <memory>
#include <optional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableWidget;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class DepthWidthPanel;
class FitSizePanel;
class PlanEditor;
class JobRunner;
struct JobEnd;
class PlotView;
class SamplesPanel;

class CompressView : public QWidget {
    Q_OBJECT
public:
    CompressView(JobRunner* runner, PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    // The store's plan for the open model; throws Error naming an entry on
    // this page that does not parse (the store keeps its last valid value).
    CompressionPlan plan() const;
    // A whole plan (a plan file): into the store, which every view shows.
    void setPlan(const CompressionPlan& p);
    void run();
    // Export of the last run: format "hf" | "gguf", type F32/F16/BF16 (or "": as stored) | F32/F16/Q8_0/Q4_0;
    // a report folder <path>.report is written beside it.
    void exportTo(const QString& path, const QString& format, const QString& type, bool force, const QString& imatrixFile = {});
    void generateSamples();
    SamplesPanel* samples() const { return samples_; }

    PlanEditor* editor() const { return editor_; }
    QLineEdit* dropEdit() const;
    QCheckBox* healBox() const;
    QSpinBox* healSteps() const;
    QDoubleSpinBox* kdWeight() const;
    QComboBox* quantBox() const;
    QLineEdit* taskFile() const { return taskFile_; }
    QLineEdit* evalTextEdit() const { return evalText_; }
    DepthWidthPanel* depthWidthPanel() const { return depthWidth_; }
    FitSizePanel* fitSizePanel() const { return fitSize_; }
    QTabWidget* pages() const { return pages_; }
    QPushButton* runButton() const { return run_; }
    QPushButton* generateButton() const;
    QPushButton* exportButton() const { return export_; }
    QLabel* summary() const { return summary_; }
    QLabel* compressedSpeed() const;
    QLabel* denseSpeed() const;
    QTableWidget* stagesTable() const { return stages_; }
    PlotView* healPlot() const { return healPlot_; }
    QLabel* prediction() const;
    QLabel* widthLabel() const;
    QPushButton* clearWidthButton() const;
    QComboBox* methodBox() const;
    QPlainTextEdit* denseText() const;
    QPlainTextEdit* compressedText() const;
    const AppliedPlan* applied() const { return applied_.get(); }
    int healPoints() const { return int(curve_.size()); }

Q_SIGNALS:
    void runFinished();
    void exported(const QString& path);
    void samplesReady();
    void message(const QString& line);

private:
    void buildLayout();
    void showStages();
    void addHealStep(const HealStep& h);
    void drawHealCurve();
    void restoreButtons();
    static QString endText(const JobEnd& end, const QString& what);

    JobRunner* runner_;
    PlanStore* store_;
    std::shared_ptr<ModelSession> session_;
    std::shared_ptr<AppliedPlan> applied_;
    CompressionPlan appliedPlan_;
    std::vector<HealStep> curve_;
    int revision_ = 0;
    int runJob_ = -1;

    PlanEditor* editor_;
    QLineEdit* evalText_;
    QLineEdit* taskFile_;
    QTabWidget* pages_;
    DepthWidthPanel* depthWidth_;
    FitSizePanel* fitSize_;
    QPushButton* run_;
    QPushButton* export_;
    QTableWidget* stages_;
    QLabel* summary_;
    PlotView* healPlot_;
    SamplesPanel* samples_;
};

} // namespace tailor::ui
