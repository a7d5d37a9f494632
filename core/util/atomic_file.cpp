#include "atomic_file.h"
#include "error.h"

#include <QSaveFile>

namespace tailor {

void writeFileAtomically(const std::string& path, const QByteArray& bytes)
{
    QSaveFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.commit())
        throw Error(path + ": cannot write: " + f.errorString().toStdString());
}

} // namespace tailor
