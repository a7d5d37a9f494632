#include "job_runner.h"

#include "core/util/error.h"

#include <QMetaObject>
#include <QtConcurrent/QtConcurrent>

#include <chrono>

namespace tailor::ui {

JobRunner::JobRunner(QObject* parent) : QObject(parent)
{
    for (QThreadPool* pool : {&longPool_, &shortPool_}) {
        pool->setMaxThreadCount(1);
        // libtorch's thread-local state (grad mode, thread count) lives as long as the pool thread.
        pool->setExpiryTimeout(-1);
    }
}

JobRunner::~JobRunner()
{
    cancelAll();
    waitForIdle();
}

bool JobRunner::busy() const { return !jobs_.empty(); }

bool JobRunner::isActive(int id) const { return jobs_.count(id) > 0; }

int JobRunner::activeCount(JobLane lane) const
{
    int n = 0;
    for (const auto& [id, job] : jobs_)
        n += job.lane == lane && !job.cancel->load();
    return n;
}

void JobRunner::waitForIdle()
{
    longPool_.waitForDone();
    shortPool_.waitForDone();
}

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

int JobRunner::submitRaw(const QString& title, std::function<Deliver(const ProgressFn&)> work,
                         std::function<void(const JobEnd&)> ended, const JobOptions& options)
{
    if (!options.supersedes.isEmpty())
        for (auto& [other, job] : jobs_)
            if (job.key == options.supersedes)
                *job.cancel = true;
    const int id = nextId_++;
    auto cancelFlag = std::make_shared<std::atomic<bool>>(false);
    jobs_[id] = Job{title, options.supersedes, options.lane, false, cancelFlag};
    Q_EMIT jobQueued(id, title);
    QPointer<JobRunner> self(this);
    QThreadPool* pool = options.lane == JobLane::Short ? &shortPool_ : &longPool_;
    (void)QtConcurrent::run(pool, [self, id, title, work = std::move(work), ended = std::move(ended), cancelFlag] {
        auto post = [self](std::function<void()> f) {
            if (self)
                QMetaObject::invokeMethod(self.data(), std::move(f), Qt::QueuedConnection);
        };
        Deliver deliver;
        QString error;
        bool cancelled = cancelFlag->load(); // cancelled while queued: never starts
        const EtaEstimator eta;
        if (!cancelled) {
            post([self, id, title] {
                if (!self)
                    return;
                auto it = self->jobs_.find(id);
                if (it != self->jobs_.end())
                    it->second.started = true;
                Q_EMIT self->jobStarted(id, title);
            });
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
            try {
                deliver = work(progress);
            } catch (const Cancelled&) {
                cancelled = true;
            } catch (const std::exception& e) {
                // c10 errors carry a backtrace after the first line
                error = QString::fromUtf8(e.what()).section('\n', 0, 0);
                if (error.isEmpty())
                    error = "unknown error";
            } catch (...) {
                error = "unknown error";
            }
        }
        const double seconds = eta.elapsed();
        post([self, id, title, deliver, ended, error, cancelled, seconds] {
            if (!self)
                return;
            self->jobs_.erase(id);
            JobEnd end;
            if (cancelled) {
                end.outcome = JobOutcome::Cancelled;
                Q_EMIT self->jobCancelled(id, title);
            } else if (!error.isEmpty()) {
                end.outcome = JobOutcome::Failed;
                end.message = error;
                Q_EMIT self->jobFailed(id, title, error);
            } else {
                if (deliver)
                    deliver();
                Q_EMIT self->jobFinished(id, title, seconds);
            }
            if (ended)
                ended(end);
        });
    });
    return id;
}

} // namespace tailor::ui
