#pragma once
// The Compress & Export view (#7): the plan assembled from the other views
// (blocks marked, ranks, quantization) or loaded from a plan file, predicted
// parameters, size and speed-up, healing settings, a Run button (progress per
// stage in the job dock), the before/after table, the live healing loss, an
// export dialog (Hugging Face folder or GGUF, with a report), and a prompt box
// showing the dense and the compressed model's continuations side by side
// with their prefill and decode speed.
#include "core/compress/apply_plan.h"

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

class BlocksView;
class DepthWidthPanel;
class JobRunner;
struct JobEnd;
class LowRankView;
class PlotView;
class QuantView;

class CompressView : public QWidget {
    Q_OBJECT
public:
    CompressView(JobRunner* runner, BlocksView* blocks, LowRankView* lowrank, QuantView* quant, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    // The plan as the controls describe it (throws Error on bad entries).
    CompressionPlan plan() const;
    void setPlan(const CompressionPlan& p);
    void takeFromViews();
    // A quantization picked elsewhere (the size budget's Pareto chart): one
    // scheme, or per-layer rules shown as "mixed: LABEL".
    void setQuantPlan(const PlanQuant& q, const QString& label);
    void run();
    // Export of the last run: format "hf" | "gguf", type F32/F16/BF16 (or "": as stored) | F32/F16/Q8_0/Q4_0;
    // a report folder <path>.report is written beside it.
    void exportTo(const QString& path, const QString& format, const QString& type, bool force, const QString& imatrixFile = {});
    void generateSamples();

    QLineEdit* dropEdit() const { return drop_; }
    QCheckBox* healBox() const { return heal_; }
    QSpinBox* healSteps() const { return healSteps_; }
    QDoubleSpinBox* kdWeight() const { return kd_; }
    QComboBox* quantBox() const { return quant_; }
    QLineEdit* taskFile() const { return taskFile_; }
    QLineEdit* evalTextEdit() const { return evalText_; }
    DepthWidthPanel* depthWidthPanel() const { return depthWidth_; }
    QTabWidget* pages() const { return pages_; }
    QPushButton* runButton() const { return run_; }
    QPushButton* generateButton() const { return generate_; }
    QPushButton* exportButton() const { return export_; }
    QLabel* summary() const { return summary_; }
    QLabel* compressedSpeed() const { return compressedSpeed_; }
    QLabel* denseSpeed() const { return denseSpeed_; }
    QTableWidget* stagesTable() const { return stages_; }
    PlotView* healPlot() const { return healPlot_; }
    QLabel* prediction() const { return prediction_; }
    QPlainTextEdit* denseText() const { return denseText_; }
    QPlainTextEdit* compressedText() const { return compressedText_; }
    const AppliedPlan* applied() const { return applied_.get(); }
    int healPoints() const { return int(curve_.size()); }

Q_SIGNALS:
    void runFinished();
    void exported(const QString& path);
    void samplesReady();
    void message(const QString& line);

private:
    void buildLayout();
    void updatePrediction();
    void showStages();
    void addHealStep(const HealStep& h);
    void exportDialog();
    void restoreButtons();
    static QString endText(const JobEnd& end, const QString& what);

    JobRunner* runner_;
    BlocksView* blocks_;
    LowRankView* lowrankView_;
    QuantView* quantView_;
    std::shared_ptr<ModelSession> session_;
    std::map<std::string, int64_t> ranks_;
    std::optional<PlanQuant> mixed_;
    std::string quantScheme_;
    std::shared_ptr<AppliedPlan> applied_;
    CompressionPlan appliedPlan_;
    std::vector<HealStep> curve_;
    int revision_ = 0;
    int runJob_ = -1;

    QLineEdit* drop_;
    QLabel* ranksLabel_;
    QCheckBox* whiten_;
    QComboBox* quant_;
    QComboBox* method_;
    QLineEdit* calib_;
    QLabel* prediction_;
    QCheckBox* heal_;
    QLineEdit* healText_;
    QSpinBox* healSteps_;
    QSpinBox* healRank_;
    QDoubleSpinBox* healLr_;
    QDoubleSpinBox* kd_;
    QDoubleSpinBox* temperature_;
    QLineEdit* evalText_;
    QLineEdit* taskFile_;
    QTabWidget* pages_;
    DepthWidthPanel* depthWidth_;
    QPushButton* fromViews_;
    QPushButton* loadPlan_;
    QPushButton* savePlan_;
    QPushButton* run_;
    QPushButton* export_;
    QTableWidget* stages_;
    QLabel* summary_;
    PlotView* healPlot_;
    QLineEdit* prompt_;
    QPushButton* generate_;
    QPlainTextEdit* denseText_;
    QPlainTextEdit* compressedText_;
    QLabel* denseSpeed_;
    QLabel* compressedSpeed_;
};

} // namespace tailor::ui
