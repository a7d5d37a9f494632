// GUI responsiveness while a scan runs on a large model (#8): opens the model in
// the real main window (offscreen unless a display is asked for), starts a block
// scan from the Blocks view, keeps using the window while it runs (switching
// tabs, walking the model tree, resizing), and reports the longest time the UI
// thread went without processing events, the scan time and the peak RSS.
// Usage: bench_gui_scan MODEL_DIR [CRITERIA=bi] [SCREENSHOT.png]
//   CRITERIA: a comma list of ppl, taylor, bi.
#include "ui/docks/model_tree_dock.h"
#include "ui/main_window.h"
#include "ui/stall_meter.h"
#include "ui/views/blocks_view.h"

#include <QApplication>
#include <QCheckBox>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QPushButton>
#include <QSettings>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeView>

#include <cstdio>
#include <sys/resource.h>

using namespace tailor::ui;

namespace {

double peakRssGb()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) * 1024.0 / 1e9;
}

// Runs the event loop until `done` or the timeout; returns false on timeout.
// The loop sleeps between events like the application's own (a processEvents
// spin would take a core from the engine).
bool waitFor(const std::function<bool()>& done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    QEventLoop loop;
    QTimer check;
    check.setInterval(10);
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (done() || t.elapsed() > timeoutMs)
            loop.quit();
    });
    check.start();
    if (!done())
        loop.exec();
    return done();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_gui_scan MODEL_DIR [CRITERIA=bi] [SCREENSHOT.png]\n");
        return 2;
    }
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QTemporaryDir cache; // no cached scan results: the scan really runs
    qputenv("TAILOR_CACHE_DIR", cache.path().toUtf8());
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("TailorBench");
    QSettings().clear();
    const QString modelDir = QString::fromLocal8Bit(argv[1]);
    const QStringList criteria = QString(argc > 2 ? argv[2] : "bi").split(',');

    MainWindow w;
    w.resize(1500, 950);
    w.show();
    QElapsedTimer clock;
    clock.start();
    qint64 openMs = 0, openStall = 0;
    {
        StallMeter stalls;
        w.openModel(modelDir);
        if (!waitFor([&] { return w.session() != nullptr; }, 600000)) {
            std::fprintf(stderr, "the model did not open\n");
            return 1;
        }
        openMs = clock.elapsed();
        openStall = stalls.worstMs();
    }
    BlocksView* v = w.blocksView();
    w.tabs()->setCurrentWidget(v);
    for (QCheckBox* box : v->findChildren<QCheckBox*>()) {
        const QString t = box->text().toLower();
        if (t == "ppl" || t == "taylor" || t == "bi")
            box->setChecked(criteria.contains(t));
    }
    bool finished = false;
    QObject::connect(v, &BlocksView::scanFinished, [&] { finished = true; });

    // A user at work while the scan runs: every 300 ms another tab, another
    // tree row, another window size.
    int actions = 0;
    QTimer user;
    user.setInterval(300);
    QObject::connect(&user, &QTimer::timeout, [&] {
        QTabWidget* tabs = w.tabs();
        tabs->setCurrentIndex((tabs->currentIndex() + 1) % tabs->count());
        auto* tree = w.modelTree()->findChild<QTreeView*>();
        QStandardItemModel* m = w.modelTree()->model();
        if (tree && m->rowCount() > 0) {
            const QModelIndex row = m->index(actions % m->rowCount(), 0);
            tree->setExpanded(row, true);
            tree->setCurrentIndex(row);
        }
        w.resize(actions % 2 ? 1500 : 1400, 950);
        ++actions;
    });

    StallMeter stalls;
    clock.restart();
    v->scanButton()->click();
    user.start();
    if (!waitFor([&] { return finished; }, 4 * 3600 * 1000)) {
        std::fprintf(stderr, "the scan did not finish\n");
        return 1;
    }
    const double scanS = clock.elapsed() / 1e3;
    user.stop();
    w.tabs()->setCurrentWidget(v);
    QCoreApplication::processEvents();
    if (argc > 3)
        w.grab().save(QString::fromLocal8Bit(argv[3]));
    std::printf("%s: opened in %.2f s (longest UI stall %lld ms); scan [%s] %.1f s with %d user actions, "
                "longest UI-thread stall %lld ms (%lld ticks of a 5 ms timer); peak RSS %.2f GB\n",
                qPrintable(modelDir), openMs / 1e3, openStall, qPrintable(criteria.join(',')), scanS, actions,
                stalls.worstMs(), stalls.ticks(), peakRssGb());
    return 0;
}
