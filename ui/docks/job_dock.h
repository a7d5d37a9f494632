#pragma once
// Every queued and running job in a list (state, stage, fraction), the most
// recently started one with a progress bar and ETA, and a Cancel button that
// stops the selected job — queued or running — or the running one when no
// row is selected.
#include <QDockWidget>

#include <map>

class QLabel;
class QListWidget;
class QListWidgetItem;
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
    QListWidget* jobList() const { return list_; }
    // The job a row stands for (0 when none).
    int jobOfRow(int row) const;

private:
    void setRow(int id, const QString& text);
    void removeRow(int id);
    void updateCancel();

    JobRunner* runner_;
    QLabel* title_;
    QLabel* eta_;
    QProgressBar* bar_;
    QPushButton* cancel_;
    QListWidget* list_;
    std::map<int, QListWidgetItem*> rows_;
    std::map<int, QString> titles_;
    int current_ = 0;
};

} // namespace tailor::ui
