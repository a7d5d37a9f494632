#include "log_dock.h"

#include <QDateTime>
#include <QPlainTextEdit>

namespace tailor::ui {

LogDock::LogDock(QWidget* parent) : QDockWidget(tr("Log"), parent)
{
    setObjectName("LogDock");
    text_ = new QPlainTextEdit(this);
    text_->setReadOnly(true);
    text_->setMaximumBlockCount(5000);
    setWidget(text_);
}

void LogDock::append(const QString& line)
{
    text_->appendPlainText(QDateTime::currentDateTime().toString("HH:mm:ss  ") + line);
}

QString LogDock::text() const { return text_->toPlainText(); }

} // namespace tailor::ui
