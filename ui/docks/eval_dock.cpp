#include "eval_dock.h"
#include "ui/job_runner.h"
#include "ui/resource_paths.h"
#include "ui/settings_keys.h"

#include "core/model/model_session.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QToolButton>

namespace tailor::ui {

EvalDock::EvalDock(JobRunner* runner, QWidget* parent) : QDockWidget(tr("Evaluate"), parent), runner_(runner)
{
    setObjectName("EvalDock");
    QSettings st;
    auto* w = new QWidget(this);
    auto* form = new QFormLayout(w);
    auto* fileRow = new QHBoxLayout;
    text_ = new QLineEdit(st.value(keys::kEvalText, demoEvalText()).toString(), w);
    auto* browse = new QToolButton(w);
    browse->setText("…");
    fileRow->addWidget(text_);
    fileRow->addWidget(browse);
    seqLen_ = new QSpinBox(w);
    seqLen_->setRange(2, 1 << 20);
    seqLen_->setValue(st.value(keys::kEvalSeqLen, 256).toInt());
    maxWindows_ = new QSpinBox(w);
    maxWindows_->setRange(0, 1 << 24);
    maxWindows_->setSpecialValueText(tr("all"));
    maxWindows_->setValue(st.value(keys::kEvalMaxWindows, 0).toInt());
    run_ = new QPushButton(tr("Run evaluation"), w);
    run_->setEnabled(false);
    result_ = new QLabel(tr("—"), w);
    result_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    result_->setWordWrap(true);
    form->addRow(tr("Text file"), fileRow);
    form->addRow(tr("Window length"), seqLen_);
    form->addRow(tr("Max windows"), maxWindows_);
    form->addRow(run_);
    form->addRow(tr("Result"), result_);
    setWidget(w);

    connect(browse, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Evaluation text"), text_->text(), tr("Text (*.txt *.raw);;All files (*)"));
        if (!f.isEmpty())
            text_->setText(f);
    });
    connect(run_, &QPushButton::clicked, this, &EvalDock::run);
}

void EvalDock::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    run_->setEnabled(session_ != nullptr);
    result_->setText(tr("—"));
}

void EvalDock::saveSettings() const
{
    QSettings st;
    st.setValue(keys::kEvalText, text_->text());
    st.setValue(keys::kEvalSeqLen, seqLen_->value());
    st.setValue(keys::kEvalMaxWindows, maxWindows_->value());
}

void EvalDock::run()
{
    if (!session_)
        return;
    auto session = session_;
    const std::string path = text_->text().toStdString();
    EvalOptions opt;
    opt.seq_len = seqLen_->value();
    opt.max_windows = maxWindows_->value();
    run_->setEnabled(false);
    result_->setText(tr("running…"));
    const int id = runner_->submit<EvalResult>(
        tr("Evaluate %1").arg(QFileInfo(text_->text()).fileName()),
        [session, path, opt](const ProgressFn& p) {
            return evaluatePerplexity(session->model(), session->tokenizeFile(path), opt, p);
        },
        this, [this](const EvalResult& r) {
            last_ = r;
            result_->setText(tr("<b>PPL %1</b><br>%2 windows × %3, %4 predicted tokens<br>%5 tokens/s")
                                 .arg(r.ppl, 0, 'f', 4)
                                 .arg(r.windows)
                                 .arg(r.seq_len)
                                 .arg(r.predicted_tokens)
                                 .arg(r.tokens_per_s, 0, 'f', 0));
            Q_EMIT message(tr("PPL %1 on %2 (%3 windows of %4)").arg(r.ppl, 0, 'f', 6).arg(text_->text()).arg(r.windows).arg(r.seq_len));
            Q_EMIT evaluated(r);
        },
        [this](const JobEnd& end) {
            job_ = 0;
            run_->setEnabled(session_ != nullptr);
            if (end.failed())
                result_->setText(tr("Failed: %1").arg(end.message.toHtmlEscaped()));
            else if (end.cancelled())
                result_->setText(tr("Cancelled."));
        });
    job_ = id;
}

} // namespace tailor::ui
