#pragma once
// The Experts view (#30): for a mixture of experts, how often the router
// chooses each expert of each block on the calibration text (a block × expert
// heat map, measured in the background; experts no token chose are named),
// and the experts a cut to N per block removes, ranked by frequency or by
// REAP's router-weighted output size. "Use in plan" makes the cut the plan's
// experts stage, which Compress & Export runs and exports.
#include "core/analysis/expert_routing.h"

#include <QWidget>
#include <memory>
#include <optional>
#include <vector>

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

class ExpertsView : public QWidget {
    Q_OBJECT
public:
    ExpertsView(JobRunner* runner, PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    const std::optional<ExpertRouting>& routing() const { return routing_; }
    // Per block the experts kept: the current count's best by the criterion,
    // then changed by clicks on the heat map (empty before measuring).
    const std::vector<std::vector<int>>& kept() const { return kept_; }

    QComboBox* criterionBox() const { return criterion_; }
    QSpinBox* keepSpin() const { return keep_; }
    QPushButton* measureButton() const { return measure_; }
    QPushButton* useInPlanButton() const { return useInPlan_; }
    QLabel* summary() const { return summary_; }
    PlotView* heatmap() const { return plot_; }

Q_SIGNALS:
    void measured();

private:
    void runRouting();
    void updateCut();
    void toggle(int block, int expert); // a click on the heat map: keep or remove that expert
    void redraw();

    JobRunner* runner_;
    PlanStore* store_;
    std::shared_ptr<ModelSession> session_;
    std::optional<ExpertRouting> routing_;
    std::vector<std::vector<int>> kept_;
    QComboBox* criterion_;
    QSpinBox* keep_;
    QPushButton *measure_, *useInPlan_;
    QLabel* summary_;
    PlotView* plot_;
};

} // namespace tailor::ui
