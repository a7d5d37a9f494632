#pragma once
// The Compress view's "Fit to size" page (#29): one size budget searched
// across depth (blocks dropped, healed by a fitted linear map), width (MLP
// channels cut) and a llama.cpp type per tensor (core/compress/joint_search.h),
// in one background job. The chart shows every measured plan as a point
// (GGUF file size against KLD from the dense model on the evaluation text),
// coloured by how it was built, the chosen one starred; clicking a point puts
// its plan in the PlanStore (blocks, width, healing, GGUF types), ready for
// the Compress page's run and export.
#include "core/compress/joint_search.h"

#include <QWidget>
#include <memory>
#include <optional>

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;
class PlanStore;
class PlotView;

class FitSizePanel : public QWidget {
    Q_OBJECT
public:
    FitSizePanel(JobRunner* runner, PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    QComboBox* targetBox() const { return target_; } // a llama-quantize type or a size ("1.2M")
    QCheckBox* depthBox() const { return depth_; }
    QCheckBox* widthBox() const { return width_; }
    QCheckBox* frontierBox() const { return frontier_; }
    QSpinBox* maxWindows() const { return maxWindows_; }
    QPushButton* searchButton() const { return search_; }
    QLabel* summary() const { return summary_; }
    PlotView* chart() const { return chart_; }
    const std::optional<JointResult>& result() const { return result_; }
    // The measured plans in chart order (series of kind, then index), and picking one.
    const JointPlan* pointAt(int series, int index) const;
    void pick(int series, int index);

Q_SIGNALS:
    void searched();
    void picked(const QString& label);

public Q_SLOTS:
    void search();

private:
    void show(const JointResult& r);

    JobRunner* runner_;
    PlanStore* store_;
    std::shared_ptr<ModelSession> session_;
    QComboBox* target_;
    QCheckBox* depth_;
    QCheckBox* width_;
    QCheckBox* frontier_;
    QSpinBox* maxWindows_;
    QPushButton* search_;
    QLabel* summary_;
    PlotView* chart_;
    std::optional<JointResult> result_;
    std::vector<std::vector<const JointPlan*>> points_; // per series
    int revision_ = 0;
};

} // namespace tailor::ui
