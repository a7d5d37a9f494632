#pragma once
// Analysis results cached on disk, keyed by everything they depend on (model,
// calibration ids, settings), so reopening a model shows them at once.
// Location: $TAILOR_CACHE_DIR, else the user's cache directory /tailor.
#include <QJsonObject>
#include <QString>
#include <optional>

namespace tailor {

class ResultCache {
public:
    static QString directory();
    static std::optional<QJsonObject> load(const QString& kind, const QJsonObject& key);
    // Atomic (temporary file + rename); failures are ignored: a cache is optional.
    static void store(const QString& kind, const QJsonObject& key, const QJsonObject& value);
};

} // namespace tailor
