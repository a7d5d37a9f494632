#pragma once
// The Width view (#18): importance of every KV group (attention heads) and MLP
// channel of every block as heat maps (Taylor, activation or magnitude, scored
// in the background), the units a uniform cut removes left blank, the share of
// block parameters that cut removes (to set it beside a depth cut of the same
// budget), the PPL of the narrower model on the evaluation text, and a plan
// with the `width` stage for the Compress view or `tailor-cli compress`.
#include "core/compress/width_prune.h"

#include <QWidget>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QCheckBox;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;
class PlanStore;
class PlotView;

class WidthView : public QWidget {
    Q_OBJECT
public:
    WidthView(JobRunner* runner, PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    // The uniform cut of the current scores and counts (none before scoring or when the counts are refused).
    const std::optional<WidthPlan>& plan() const { return plan_; }
    // Writes a plan with the width stage (CompressionPlan JSON).
    void savePlan(const QString& path) const;
    QPushButton* useInPlanButton() const { return useInPlan_; }

    QComboBox* criterionBox() const { return criterion_; }
    QSpinBox* headsSpin() const { return heads_; }
    QSpinBox* channelsSpin() const { return channels_; }
    QCheckBox* perBlockCheck() const { return perBlock_; }
    QPushButton* scoreButton() const { return score_; }
    QPushButton* evaluateButton() const { return evaluate_; }
    QLabel* summary() const { return summary_; }
    QLabel* evaluation() const { return evalResult_; }
    PlotView* groupPlot() const { return groupPlot_; }
    PlotView* channelPlot() const { return channelPlot_; }

Q_SIGNALS:
    void scored();
    void evaluated();

private:
    void bindStore(PlanStore* store);
    void runScores();
    void updateCut();
    void runEvaluation();

    JobRunner* runner_;
    std::shared_ptr<ModelSession> session_;
    std::optional<WidthScores> scores_;
    std::optional<WidthPlan> plan_;
    QComboBox* criterion_;
    QLineEdit* calib_;
    QSpinBox *heads_, *channels_;
    QCheckBox* perBlock_; // counts per block by importance (non-uniform; GGUF export only)
    QPushButton *score_, *evaluate_, *save_, *useInPlan_;
    PlanStore* store_ = nullptr;
    QLabel *summary_, *evalResult_;
    PlotView *groupPlot_, *channelPlot_;
};

} // namespace tailor::ui
