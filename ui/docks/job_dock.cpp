#include "job_dock.h"
#include "ui/job_runner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

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
    auto* col = new QVBoxLayout(w);
    auto* l = new QHBoxLayout;
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
    cancel_->setToolTip(tr("Cancel the selected job, or the running one"));
    l->addWidget(title_);
    l->addWidget(bar_, 1);
    l->addWidget(eta_);
    l->addWidget(cancel_);
    list_ = new QListWidget(w);
    list_->setMaximumHeight(72);
    list_->setSelectionMode(QAbstractItemView::SingleSelection);
    col->addLayout(l);
    col->addWidget(list_);
    w->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    setWidget(w);

    connect(cancel_, &QPushButton::clicked, this, [this] {
        const int selected = list_->currentRow() >= 0 ? jobOfRow(list_->currentRow()) : 0;
        runner_->cancel(selected ? selected : current_);
    });
    connect(list_, &QListWidget::currentRowChanged, this, [this] { updateCancel(); });
    connect(runner_, &JobRunner::jobQueued, this, [this](int id, const QString& t) {
        titles_[id] = t;
        setRow(id, tr("%1 — queued").arg(t));
    });
    connect(runner_, &JobRunner::jobStarted, this, [this](int id, const QString& t) {
        current_ = id;
        title_->setText(t);
        bar_->setValue(0);
        eta_->setText(formatEta(-1));
        setRow(id, tr("%1 — running").arg(t));
    });
    connect(runner_, &JobRunner::jobProgress, this, [this](int id, double f, const QString& stage, double eta) {
        setRow(id, tr("%1 — %2 %3 %").arg(titles_[id], stage).arg(int(f * 100)));
        if (id != current_)
            return;
        bar_->setValue(int(f * 1000));
        bar_->setFormat(stage + "  %p%");
        eta_->setText(formatEta(eta));
    });
    auto ended = [this](int id, const QString& text) {
        removeRow(id);
        titles_.erase(id);
        if (id == current_) {
            title_->setText(text);
            eta_->clear();
        }
        updateCancel();
    };
    connect(runner_, &JobRunner::jobFinished, this, [this, ended](int id, const QString& t, double s) {
        if (id == current_) {
            bar_->setValue(1000);
            bar_->setFormat("%p%");
        }
        ended(id, tr("%1: done in %2 s").arg(t).arg(s, 0, 'f', 1));
    });
    connect(runner_, &JobRunner::jobFailed, this, [ended](int id, const QString& t, const QString&) { ended(id, tr("%1: failed").arg(t)); });
    connect(runner_, &JobRunner::jobCancelled, this, [ended](int id, const QString& t) { ended(id, tr("%1: cancelled").arg(t)); });
}

int JobDock::jobOfRow(int row) const
{
    for (const auto& [id, item] : rows_)
        if (list_->row(item) == row)
            return id;
    return 0;
}

void JobDock::setRow(int id, const QString& text)
{
    auto it = rows_.find(id);
    if (it == rows_.end())
        it = rows_.emplace(id, new QListWidgetItem(text, list_)).first;
    else
        it->second->setText(text);
    updateCancel();
}

void JobDock::removeRow(int id)
{
    auto it = rows_.find(id);
    if (it == rows_.end())
        return;
    delete it->second;
    rows_.erase(it);
}

void JobDock::updateCancel() { cancel_->setEnabled(!rows_.empty()); }

} // namespace tailor::ui
