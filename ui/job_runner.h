#pragma once
// The UI's only door to the engine: submit work, get progress (fraction, ETA),
// cancel, and an end for every outcome (done, failed, cancelled) on the GUI
// thread, so a view can always give its controls back. Cancel is an atomic
// flag the engine's ProgressFn reads at its next safe point (PlotJuggler's
// FetchWorker, Qt's primecounter); a queued job that is cancelled never starts.
//
// Two lanes, each one worker thread: long work (scans, reports, healing,
// exports) runs one at a time because the engine itself uses every core;
// short work (a model open, a histogram, a cached lookup) has its own lane so
// it never waits behind a scan. A job submitted with a `supersedes` key
// cancels the earlier jobs of that key (a setting changed twice runs once).
#include "core/util/progress.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <QThreadPool>

#include <atomic>
#include <functional>
#include <map>
#include <memory>

namespace tailor::ui {

enum class JobOutcome { Done, Failed, Cancelled };

// What `ended` receives: how the job ended and, when it failed, why.
struct JobEnd {
    JobOutcome outcome = JobOutcome::Done;
    QString message; // the error's first line when failed
    bool done() const { return outcome == JobOutcome::Done; }
    bool failed() const { return outcome == JobOutcome::Failed; }
    bool cancelled() const { return outcome == JobOutcome::Cancelled; }
};

enum class JobLane { Long, Short };

struct JobOptions {
    JobLane lane = JobLane::Long;
    QString supersedes; // non-empty: cancel earlier jobs with this key
};

class JobRunner : public QObject {
    Q_OBJECT
public:
    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;

    // `work` runs on a worker thread. On the GUI thread, unless `receiver` is
    // gone: `done` with the result when it succeeded, then `ended` for every
    // outcome (after `done`), so controls are restored in one place.
    template <class R>
    int submit(const QString& title, std::function<R(const ProgressFn&)> work, QObject* receiver,
               std::function<void(const R&)> done, std::function<void(const JobEnd&)> ended = {},
               const JobOptions& options = {})
    {
        QPointer<QObject> guard(receiver);
        auto deliverEnd = [ended, guard](const JobEnd& e) {
            if (guard && ended)
                ended(e);
        };
        return submitRaw(
            title,
            [work = std::move(work), done = std::move(done), guard](const ProgressFn& p) {
                auto result = std::make_shared<R>(work(p));
                return std::function<void()>([done, result, guard] {
                    if (guard && done)
                        done(*result);
                });
            },
            deliverEnd, options);
    }

    void cancel(int id);
    void cancelAll();
    bool busy() const;
    bool isActive(int id) const; // queued or running
    int activeCount(JobLane lane) const;
    // Blocks until queued jobs have finished (shutdown and tests only).
    void waitForIdle();

Q_SIGNALS:
    void jobQueued(int id, const QString& title);
    void jobStarted(int id, const QString& title);
    void jobProgress(int id, double fraction, const QString& stage, double etaSeconds);
    void jobFinished(int id, const QString& title, double seconds);
    void jobFailed(int id, const QString& title, const QString& message);
    void jobCancelled(int id, const QString& title);

private:
    using Deliver = std::function<void()>;
    int submitRaw(const QString& title, std::function<Deliver(const ProgressFn&)> work,
                  std::function<void(const JobEnd&)> ended, const JobOptions& options);

    struct Job {
        QString title;
        QString key;
        JobLane lane = JobLane::Long;
        bool started = false;
        std::shared_ptr<std::atomic<bool>> cancel;
    };
    QThreadPool longPool_, shortPool_;
    std::map<int, Job> jobs_;
    int nextId_ = 1;
};

} // namespace tailor::ui
