#include "resource_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace tailor::ui {

QString resourcesDir()
{
    const QString installed = QDir(QCoreApplication::applicationDirPath()).filePath("../share/tailor");
    if (QFileInfo::exists(installed + "/models"))
        return QDir(installed).canonicalPath();
    return QStringLiteral(TAILOR_SOURCE_RESOURCES);
}

QString demoModelDir() { return resourcesDir() + "/models/tinystories-12L"; }
QString demoEvalText() { return resourcesDir() + "/data/tinystories-valid-99.txt"; }
QString demoCalibText() { return resourcesDir() + "/data/tinystories-calib-50.txt"; }

} // namespace tailor::ui
