#include "main_window.h"
#include "plan_store.h"
#include "tour_hint.h"
#include "docks/eval_dock.h"
#include "docks/job_dock.h"
#include "docks/log_dock.h"
#include "docks/model_tree_dock.h"
#include "job_runner.h"
#include "settings_keys.h"
#include "views/blocks_view.h"
#include "views/quant_view.h"
#include "views/budget_panel.h"
#include "views/compress_view.h"
#include "views/lowrank_view.h"
#include "views/width_view.h"
#include "views/experts_view.h"

#include "core/model/model_session.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

namespace tailor::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), runner_(new JobRunner(this)), store_(new PlanStore(this))
{
    setWindowTitle(tr("Tailor"));
    setAcceptDrops(true);
    buildLayout();
    createDocks();
    createMenus();
    connectSignals();
    QSettings st;
    resize(1400, 900);
    restoreGeometry(st.value(keys::kGeometry).toByteArray());
    restoreState(st.value(keys::kWindowState).toByteArray());
    tabs_->setCurrentIndex(st.value(keys::kCurrentTab, 0).toInt());
}

MainWindow::~MainWindow()
{
    runner_->cancelAll();
    runner_->waitForIdle();
}

void MainWindow::buildLayout()
{
    tabs_ = new QTabWidget(this);
    blocks_ = new BlocksView(runner_, store_, tabs_);
    tabs_->addTab(blocks_, tr("Blocks"));
    quant_ = new QuantView(runner_, store_, tabs_);
    tabs_->addTab(quant_, tr("Quantization"));
    lowrank_ = new LowRankView(runner_, store_, tabs_);
    tabs_->addTab(lowrank_, tr("Low rank"));
    compress_ = new CompressView(runner_, store_, tabs_);
    tabs_->addTab(compress_, tr("Compress && Export"));
    width_ = new WidthView(runner_, store_, tabs_);
    tabs_->addTab(width_, tr("Width (heads, channels)"));
    experts_ = new ExpertsView(runner_, store_, tabs_);
    tabs_->addTab(experts_, tr("Experts"));
    // the first-run hint above the views, then the views
    auto* central = new QWidget(this);
    auto* column = new QVBoxLayout(central);
    column->setContentsMargins(0, 0, 0, 0);
    column->setSpacing(2);
    tour_ = new TourHint(tabs_, central);
    column->addWidget(tour_);
    column->addWidget(tabs_, 1);
    setCentralWidget(central);
    statusBar()->showMessage(tr("Ready"));
}

void MainWindow::createDocks()
{
    tree_ = new ModelTreeDock(this);
    eval_ = new EvalDock(runner_, this);
    jobDock_ = new JobDock(runner_, this);
    log_ = new LogDock(this);
    addDockWidget(Qt::LeftDockWidgetArea, tree_);
    addDockWidget(Qt::LeftDockWidgetArea, eval_);
    addDockWidget(Qt::BottomDockWidgetArea, jobDock_);
    addDockWidget(Qt::BottomDockWidgetArea, log_);
    tabifyDockWidget(jobDock_, log_);
    jobDock_->raise();
    resizeDocks({jobDock_}, {90}, Qt::Vertical);
}

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open model…"), QKeySequence::Open, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"));
        if (!dir.isEmpty())
            openModel(dir);
    });
    file->addAction(tr("Open &GGUF file…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open a GGUF model file"), {}, tr("GGUF models (*.gguf)"));
        if (!path.isEmpty())
            openModel(path);
    });
    recentMenu_ = file->addMenu(tr("Recent models"));
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* d : {static_cast<QDockWidget*>(tree_), static_cast<QDockWidget*>(eval_),
                           static_cast<QDockWidget*>(jobDock_), static_cast<QDockWidget*>(log_)})
        view->addAction(d->toggleViewAction());
    view->addSeparator();
    view->addAction(tr("Show &hints"), this, [this] { tour_->restart(); });
}

void MainWindow::connectSignals()
{
    connect(runner_, &JobRunner::jobStarted, this, [this](int, const QString& t) { log_->append(tr("started: %1").arg(t)); });
    connect(runner_, &JobRunner::jobFinished, this, [this](int, const QString& t, double s) {
        log_->append(tr("finished: %1 (%2 s)").arg(t).arg(s, 0, 'f', 2));
    });
    connect(runner_, &JobRunner::jobFailed, this, [this](int, const QString& t, const QString& msg) {
        log_->append(tr("FAILED: %1: %2").arg(t, msg));
        statusBar()->showMessage(tr("%1 failed: %2").arg(t, msg));
    });
    connect(runner_, &JobRunner::jobCancelled, this, [this](int, const QString& t) { log_->append(tr("cancelled: %1").arg(t)); });
    connect(eval_, &EvalDock::message, log_, &LogDock::append);
    connect(blocks_, &BlocksView::message, log_, &LogDock::append);
    connect(quant_, &QuantView::message, log_, &LogDock::append);
    connect(compress_, &CompressView::message, log_, &LogDock::append);
    // a plan picked on the size budget's Pareto chart becomes the plan's quantization
    connect(quant_->budgetPanel(), &BudgetPanel::planPicked, store_,
            [this](const PlanQuant& q, const QString& label) { store_->setQuant(q, label); });
    connect(tabs_, &QTabWidget::currentChanged, this, [](int i) { QSettings().setValue(keys::kCurrentTab, i); });
}

void MainWindow::openModel(const QString& dirIn)
{
    const QString dir = QFileInfo(dirIn).absoluteFilePath();
    log_->append(tr("opening %1").arg(dir));
    runner_->submit<std::shared_ptr<ModelSession>>(
        tr("Open %1").arg(QFileInfo(dir).fileName()),
        [dir](const ProgressFn&) { return ModelSession::open(dir.toStdString()); },
        this, [this, dir](const std::shared_ptr<ModelSession>& s) {
            session_ = s;
            store_->reset(s->dir()); // choices made for another model do not carry over
            tree_->setSummary(s->summary());
            eval_->setSession(s);
            blocks_->setSession(s);
            quant_->setSession(s);
            lowrank_->setSession(s);
            width_->setSession(s);
            experts_->setSession(s);
            compress_->setSession(s);
            setWindowTitle(tr("Tailor — %1").arg(QFileInfo(dir).fileName()));
            statusBar()->showMessage(tr("Opened %1").arg(dir));
            rememberRecent(dir);
            Q_EMIT modelOpened(dir);
        },
        [this, dir](const JobEnd& end) {
            if (end.failed())
                statusBar()->showMessage(tr("Could not open %1: %2").arg(dir, end.message));
        },
        // opening maps files and reads the config: it never waits behind a scan
        JobOptions{JobLane::Short, QStringLiteral("open-model")});
}

void MainWindow::rememberRecent(const QString& dir)
{
    QSettings st;
    QStringList recent = st.value(keys::kRecentModels).toStringList();
    recent.removeAll(dir);
    recent.prepend(dir);
    while (recent.size() > keys::kMaxRecent)
        recent.removeLast();
    st.setValue(keys::kRecentModels, recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    recentMenu_->clear();
    const QStringList recent = QSettings().value(keys::kRecentModels).toStringList();
    for (const QString& dir : recent)
        recentMenu_->addAction(dir, this, [this, dir] { openModel(dir); });
    recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* e)
{
    QSettings st;
    st.setValue(keys::kGeometry, saveGeometry());
    st.setValue(keys::kWindowState, saveState());
    eval_->saveSettings();
    blocks_->saveSettings();
    runner_->cancelAll();
    e->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e)
{
    if (e->mimeData()->hasUrls())
        e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e)
{
    for (const QUrl& url : e->mimeData()->urls()) {
        QFileInfo info(url.toLocalFile());
        if (info.isFile() && info.suffix().compare("gguf", Qt::CaseInsensitive) == 0) {
            openModel(info.absoluteFilePath()); // a GGUF file is a model
            return;
        }
        if (info.isFile())
            info = QFileInfo(info.absolutePath());
        if (info.isDir()) {
            openModel(info.absoluteFilePath());
            return;
        }
    }
}

} // namespace tailor::ui
