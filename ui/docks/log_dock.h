#pragma once
// The log: what jobs did, how long they took, and every error in full.
#include <QDockWidget>

class QPlainTextEdit;

namespace tailor::ui {

class LogDock : public QDockWidget {
    Q_OBJECT
public:
    explicit LogDock(QWidget* parent = nullptr);
    void append(const QString& line);
    QString text() const;

private:
    QPlainTextEdit* text_;
};

} // namespace tailor::ui
