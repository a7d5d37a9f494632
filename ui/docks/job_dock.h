#pragma once
// Progress of the running job: stage, fraction, ETA, and a Cancel button.
#include <QDockWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace tailor::ui {

class JobRunner;

class JobDock : public QDockWidget {
    Q_OBJECT
public:
    JobDock(JobRunner* runner, QWidget* parent = nullptr);
    QPushButton* cancelButton() const { return cancel_; }
    QProgressBar* progressBar() const { return bar_; }

private:
    JobRunner* runner_;
    QLabel* title_;
    QLabel* eta_;
    QProgressBar* bar_;
    QPushButton* cancel_;
    int current_ = 0;
};

} // namespace tailor::ui
