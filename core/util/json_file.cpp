#include "json_file.h"
#include "error.h"

#include <QFile>
#include <QJsonDocument>

namespace tailor {

QJsonObject readJsonObject(const std::string& path, const std::string& what)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        throw Error(path + ": cannot read " + what);
    QJsonParseError err{};
    const auto doc = QJsonDocument::fromJson(f.readAll(), &err);
    if (err.error != QJsonParseError::NoError || !doc.isObject())
        throw Error(path + ": not a JSON object (at byte " + std::to_string(err.offset) + ")");
    return doc.object();
}

} // namespace tailor
