#include "job_runner.h"

#include "core/error.h"

#include <QMetaObject>
#include <QtConcurrent/QtConcurrent>

#include <chrono>

namespace tailor::ui {

JobRunner::JobRunner(QObject* parent) : QObject(parent)
{
    pool_.setMaxThreadCount(1);
    // libtorch's thread-local state (grad mode, thread count) lives as long as the pool thread.
    pool_.setExpiryTimeout(-1);
}

JobRunner::~JobRunner()
{
    cancelAll();
    pool_.waitForDone();
}

bool JobRunner::busy() const { return !jobs_.empty(); }

void JobRunner::waitForIdle() { pool_.waitForDone(); }

void JobRunner::cancel(int id)
{
    auto it = jobs_.find(id);
    if (it != jobs_.end())
        *it->second.cancel = true;
}

void JobRunner::cancelAll()
{
    for (auto& [id, job] : jobs_)
        *job.cancel = true;
}

int JobRunner::submitRaw(const QString& title, std::function<Deliver(const ProgressFn&)> work)
{
    const int id = nextId_++;
    auto cancelFlag = std::make_shared<std::atomic<bool>>(false);
    jobs_[id] = Job{title, cancelFlag};
    QPointer<JobRunner> self(this);
    (void)QtConcurrent::run(&pool_, [self, id, title, work = std::move(work), cancelFlag] {
        auto post = [self](std::function<void()> f) {
            if (self)
                QMetaObject::invokeMethod(self.data(), std::move(f), Qt::QueuedConnection);
        };
        post([self, id, title] { if (self) Q_EMIT self->jobStarted(id, title); });
        const EtaEstimator eta;
        auto lastEmit = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        // Progress reaches the GUI at most 20 times a second.
        const ProgressFn progress = [&, id](const Progress& p) {
            const auto now = std::chrono::steady_clock::now();
            if (now - lastEmit > std::chrono::milliseconds(50) || p.fraction >= 1.0) {
                lastEmit = now;
                const double left = eta.secondsLeft(p.fraction);
                const QString stage = QString::fromStdString(p.stage);
                const double f = p.fraction;
                post([self, id, f, stage, left] { if (self) Q_EMIT self->jobProgress(id, f, stage, left); });
            }
            return !cancelFlag->load();
        };
        Deliver deliver;
        QString error;
        bool cancelled = false;
        try {
            deliver = work(progress);
        } catch (const Cancelled&) {
            cancelled = true;
        } catch (const std::exception& e) {
            // c10 errors carry a backtrace after the first line
            error = QString::fromUtf8(e.what()).section('\n', 0, 0);
        } catch (...) {
            error = "unknown error";
        }
        const double seconds = eta.elapsed();
        post([self, id, title, deliver, error, cancelled, seconds] {
            if (!self)
                return;
            self->jobs_.erase(id);
            if (cancelled)
                Q_EMIT self->jobCancelled(id, title);
            else if (!error.isEmpty())
                Q_EMIT self->jobFailed(id, title, error);
            else {
                if (deliver)
                    deliver();
                Q_EMIT self->jobFinished(id, title, seconds);
            }
        });
    });
    return id;
}

} // namespace tailor::ui
