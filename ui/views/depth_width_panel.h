#pragma once
// The Compress view's "Depth vs width" page (#18): for a share of the block
// parameters, one background job builds both arms — blocks dropped by a block
// criterion, and KV groups + MLP channels removed from every block by a unit
// criterion — heals both with the plan's healing settings, and shows them
// beside the dense model: PPL, KLD, top-1 agreement, task accuracy,
// parameters and measured batch-1 speed (core/compress/depth_vs_width.h).
#include "core/compress/depth_vs_width.h"

#include <QWidget>
#include <functional>
#include <memory>
#include <optional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QTableWidget;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;
class PlotView;

class DepthWidthPanel : public QWidget {
    Q_OBJECT
public:
    // `fromPlan` gives the calibration, evaluation and task files and the
    // healing of the host's plan (it may throw: the message is shown).
    DepthWidthPanel(JobRunner* runner, std::function<DepthWidthOptions()> fromPlan, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    QDoubleSpinBox* budgetSpin() const { return budget_; }
    QComboBox* blockCriterion() const { return blockCriterion_; }
    QComboBox* unitCriterion() const { return unitCriterion_; }
    QCheckBox* healBoth() const { return heal_; }
    QPushButton* compareButton() const { return compare_; }
    QTableWidget* table() const { return table_; }
    QLabel* summary() const { return summary_; }
    PlotView* speedPlot() const { return speedPlot_; }
    const std::optional<DepthWidthComparison>& comparison() const { return result_; }

Q_SIGNALS:
    void compared();
    void message(const QString& line);

public Q_SLOTS:
    void compare();

private:
    void show(const DepthWidthComparison& c);

    JobRunner* runner_;
    std::function<DepthWidthOptions()> fromPlan_;
    std::shared_ptr<ModelSession> session_;
    QDoubleSpinBox* budget_;
    QComboBox* blockCriterion_;
    QComboBox* unitCriterion_;
    QCheckBox* heal_;
    QPushButton* compare_;
    QTableWidget* table_;
    QLabel* summary_;
    PlotView* speedPlot_;
    std::optional<DepthWidthComparison> result_;
    int revision_ = 0;
};

} // namespace tailor::ui
