#include "job_dock.h"
#include "ui/job_runner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>

namespace tailor::ui {

namespace {
QString formatEta(double s)
{
    if (s < 0)
        return QObject::tr("ETA …");
    if (s < 90)
        return QObject::tr("ETA %1 s").arg(int(s + 0.5));
    return QObject::tr("ETA %1 min").arg(s / 60.0, 0, 'f', 1);
}
} // namespace

JobDock::JobDock(JobRunner* runner, QWidget* parent) : QDockWidget(tr("Jobs"), parent), runner_(runner)
{
    setObjectName("JobDock");
    auto* w = new QWidget(this);
    auto* l = new QHBoxLayout(w);
    title_ = new QLabel(tr("Idle"), w);
    title_->setMinimumWidth(260);
    bar_ = new QProgressBar(w);
    bar_->setRange(0, 1000);
    bar_->setValue(0);
    bar_->setTextVisible(true);
    bar_->setFormat("%p%");
    eta_ = new QLabel(w);
    eta_->setMinimumWidth(90);
    cancel_ = new QPushButton(tr("Cancel"), w);
    cancel_->setEnabled(false);
    l->addWidget(title_);
    l->addWidget(bar_, 1);
    l->addWidget(eta_);
    l->addWidget(cancel_);
    w->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    setWidget(w);

    connect(cancel_, &QPushButton::clicked, this, [this] { runner_->cancel(current_); });
    connect(runner_, &JobRunner::jobStarted, this, [this](int id, const QString& t) {
        current_ = id;
        title_->setText(t);
        bar_->setValue(0);
        eta_->setText(formatEta(-1));
        cancel_->setEnabled(true);
    });
    connect(runner_, &JobRunner::jobProgress, this, [this](int id, double f, const QString& stage, double eta) {
        if (id != current_)
            return;
        bar_->setValue(int(f * 1000));
        bar_->setFormat(stage + "  %p%");
        eta_->setText(formatEta(eta));
    });
    auto idle = [this](int id, const QString& text) {
        if (id != current_)
            return;
        title_->setText(text);
        cancel_->setEnabled(false);
        eta_->clear();
    };
    connect(runner_, &JobRunner::jobFinished, this, [this, idle](int id, const QString& t, double s) {
        bar_->setValue(1000);
        bar_->setFormat("%p%");
        idle(id, tr("%1: done in %2 s").arg(t).arg(s, 0, 'f', 1));
    });
    connect(runner_, &JobRunner::jobFailed, this, [idle](int id, const QString& t, const QString&) { idle(id, tr("%1: failed").arg(t)); });
    connect(runner_, &JobRunner::jobCancelled, this, [idle](int id, const QString& t) { idle(id, tr("%1: cancelled").arg(t)); });
}

} // namespace tailor::ui
