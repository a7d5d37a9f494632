#pragma once
// The UI's only door to the engine: submit work, get progress (fraction, ETA),
// cancel, and receive the result on the GUI thread. Jobs run one at a time on
// a dedicated thread pool (the engine itself uses all cores); the GUI thread
// never waits on them. Cancel is an atomic flag the engine's ProgressFn reads
// at its next safe point (PlotJuggler's FetchWorker, Qt's primecounter).
#include "core/progress.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QThreadPool>

#include <atomic>
#include <functional>
#include <map>
#include <memory>

namespace tailor::ui {

class JobRunner : public QObject {
    Q_OBJECT
public:
    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;

    // `work` runs on the worker thread; `done` on the GUI thread with its
    // result, unless the job failed, was cancelled, or `receiver` is gone.
    template <class R>
    int submit(const QString& title, std::function<R(const ProgressFn&)> work, QObject* receiver,
               std::function<void(const R&)> done)
    {
        QPointer<QObject> guard(receiver);
        return submitRaw(title, [work = std::move(work), done = std::move(done), guard](const ProgressFn& p) {
            auto result = std::make_shared<R>(work(p));
            return std::function<void()>([done, result, guard] {
                if (guard)
                    done(*result);
            });
        });
    }

    void cancel(int id);
    void cancelAll();
    bool busy() const;
    // Blocks until queued jobs have finished (shutdown and tests only).
    void waitForIdle();

Q_SIGNALS:
    void jobStarted(int id, const QString& title);
    void jobProgress(int id, double fraction, const QString& stage, double etaSeconds);
    void jobFinished(int id, const QString& title, double seconds);
    void jobFailed(int id, const QString& title, const QString& message);
    void jobCancelled(int id, const QString& title);

private:
    using Deliver = std::function<void()>;
    int submitRaw(const QString& title, std::function<Deliver(const ProgressFn&)> work);

    struct Job {
        QString title;
        std::shared_ptr<std::atomic<bool>> cancel;
    };
    QThreadPool pool_;
    std::map<int, Job> jobs_;
    int nextId_ = 1;
};

} // namespace tailor::ui
