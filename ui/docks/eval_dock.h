#pragma once
// Perplexity of the open model on a text file, by the window protocol, run as
// a background job; the result appears when the job ends.
#include "core/eval/perplexity.h"

#include <QDockWidget>
#include <memory>

class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;

class EvalDock : public QDockWidget {
    Q_OBJECT
public:
    EvalDock(JobRunner* runner, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);
    void saveSettings() const;

    QLineEdit* textEdit() const { return text_; }
    QSpinBox* seqLenSpin() const { return seqLen_; }
    QPushButton* runButton() const { return run_; }
    QLabel* resultLabel() const { return result_; }
    const EvalResult& lastResult() const { return last_; }

Q_SIGNALS:
    void evaluated(const tailor::EvalResult& r);
    void message(const QString& line);

public Q_SLOTS:
    void run();

private:
    JobRunner* runner_;
    std::shared_ptr<ModelSession> session_;
    QLineEdit* text_;
    QSpinBox* seqLen_;
    QSpinBox* maxWindows_;
    QPushButton* run_;
    QLabel* result_;
    EvalResult last_;
    int job_ = 0;
};

} // namespace tailor::ui
