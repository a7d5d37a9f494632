#pragma once
// A thin main window: builds the layout, creates the docks,
// connects signals, opens models. Views and docks do their own work.
#include <QMainWindow>
#include <memory>

class QMenu;
class QTabWidget;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class BlocksView;
class QuantView;
class LowRankView;
class WidthView;
class ExpertsView;
class CompressView;
class PlanStore;
class TourHint;
class EvalDock;
class JobDock;
class JobRunner;
class LogDock;
class ModelTreeDock;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // An HF model folder or a .gguf file.
    void openModel(const QString& path);
    std::shared_ptr<ModelSession> session() const { return session_; }

    JobRunner* jobs() const { return runner_; }
    EvalDock* evalDock() const { return eval_; }
    JobDock* jobDock() const { return jobDock_; }
    LogDock* logDock() const { return log_; }
    ModelTreeDock* modelTree() const { return tree_; }
    BlocksView* blocksView() const { return blocks_; }
    QuantView* quantView() const { return quant_; }
    LowRankView* lowRankView() const { return lowrank_; }
    WidthView* widthView() const { return width_; }
    ExpertsView* expertsView() const { return experts_; }
    CompressView* compressView() const { return compress_; }
    PlanStore* planStore() const { return store_; }
    QTabWidget* tabs() const { return tabs_; }
    TourHint* tourHint() const { return tour_; }

Q_SIGNALS:
    void modelOpened(const QString& dir);

protected:
    void closeEvent(QCloseEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

private:
    void buildLayout();
    void createDocks();
    void createMenus();
    void connectSignals();
    void rememberRecent(const QString& dir);
    void rebuildRecentMenu();

    JobRunner* runner_;
    PlanStore* store_; // the user's choices; every view edits or reads this one
    std::shared_ptr<ModelSession> session_;
    QTabWidget* tabs_ = nullptr;
    TourHint* tour_ = nullptr;
    BlocksView* blocks_ = nullptr;
    QuantView* quant_ = nullptr;
    LowRankView* lowrank_ = nullptr;
    WidthView* width_ = nullptr;
    ExpertsView* experts_ = nullptr;
    CompressView* compress_ = nullptr;
    ModelTreeDock* tree_ = nullptr;
    EvalDock* eval_ = nullptr;
    JobDock* jobDock_ = nullptr;
    LogDock* log_ = nullptr;
    QMenu* recentMenu_ = nullptr;
};

} // namespace tailor::ui
