#pragma once
// The Blocks view (#4): per-block importance by PPL, Taylor and Block Influence
// as bar charts and a ranking table, the "+" exclusions greyed; blocks marked
// for dropping by clicking a bar or ticking a box; "Suggest k" and "Evaluate
// selection" run in the background and compare with the dense model.
#include "core/analysis/block_importance.h"
#include "core/analysis/block_scan_json.h"

#include <QWidget>
#include <memory>
#include <optional>
#include <set>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableView;
class QTableWidget;
class QTimer;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;
class PlanStore;
class PlotView;
class BlockImportanceModel;

class BlocksView : public QWidget {
    Q_OBJECT
public:
    BlocksView(JobRunner* runner, PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);
    void saveSettings() const;

    // For tests and the compression plan.
    std::set<int> markedBlocks() const;
    void setMarkedBlocks(const std::set<int>& blocks);
    QLabel* statusLabel() const { return status_; }
    const BlockScanResult& result() const;
    PlotView* plot(Criterion c) const;
    QPushButton* scanButton() const { return scan_; }
    QPushButton* evaluateButton() const { return evaluate_; }
    QTableWidget* selectionTable() const { return selection_; }
    QTableView* table() const { return table_; }
    double selectionEvalPpl() const { return selectionEvalPpl_; }
    double selectionKld() const { return selectionKld_; } // mean KLD of the selection from the dense model
    bool showingCachedResult() const { return fromCache_; }

public Q_SLOTS:
    void runScan();
    void suggest();
    void evaluateSelection();

Q_SIGNALS:
    void message(const QString& line);
    void scanFinished();
    void selectionEvaluated();

private:
    void bindStore(PlanStore* store);
    PlanStore* store_ = nullptr;
    void buildLayout();
    void connectSignals();
    void refreshPlots();
    void loadCached();
    BlockScanOptions scanOptions() const;
    std::optional<BlockScanOptions> validScanOptions(); // says what is wrong in the status line
    CalibOptions calibOptions() const;

    JobRunner* runner_;
    std::shared_ptr<ModelSession> session_;
    BlockImportanceModel* model_;
    std::vector<PlotView*> plots_; // one per row of blockCriteria()
    QLineEdit* calib_;
    QSpinBox* windows_;
    QSpinBox* seqLen_;
    QLineEdit* exclude_;
    std::vector<QCheckBox*> useCriterion_; // one per row of blockCriteria()
    QPushButton* scan_;
    QSpinBox* suggestK_;
    QComboBox* suggestCriterion_;
    QCheckBox* iterative_;
    QPushButton* suggestButton_;
    QPushButton* evaluate_;
    QLineEdit* evalText_;
    QTableWidget* selection_;
    QTableView* table_;
    QLabel* status_;
    QTimer* drain_;
    std::optional<BlockScanResult> pending_;
    double selectionEvalPpl_ = 0;
    double selectionKld_ = 0;
    bool fromCache_ = false;
    int scanJob_ = 0;
    int revision_ = 0; // results of an older model are dropped
};

} // namespace tailor::ui
