#include "result_cache.h"
#include "atomic_file.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QStandardPaths>

namespace tailor {

namespace {
QString fileFor(const QString& kind, const QJsonObject& key)
{
    const QByteArray k = QJsonDocument(key).toJson(QJsonDocument::Compact);
    return ResultCache::directory() + "/" + kind + "-" +
           QCryptographicHash::hash(k, QCryptographicHash::Sha1).toHex() + ".json";
}
} // namespace

QString ResultCache::directory()
{
    const QString env = qEnvironmentVariable("TAILOR_CACHE_DIR");
    if (!env.isEmpty())
        return env;
    QString base = QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation);
    if (base.isEmpty())
        base = QDir::tempPath();
    return base + "/tailor";
}

std::optional<QJsonObject> ResultCache::load(const QString& kind, const QJsonObject& key)
{
    QFile f(fileFor(kind, key));
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    if (o.value("key").toObject() != key)
        return std::nullopt;
    return o.value("value").toObject();
}

void ResultCache::store(const QString& kind, const QJsonObject& key, const QJsonObject& value)
{
    QDir().mkpath(directory());
    try {
        writeFileAtomically(fileFor(kind, key).toStdString(),
                            QJsonDocument(QJsonObject{{"key", key}, {"value", value}}).toJson(QJsonDocument::Compact));
    } catch (const std::exception&) {
        // a cache that cannot be written is only a slower next start
    }
}

} // namespace tailor
