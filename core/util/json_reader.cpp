#include "json_reader.h"

#include "core/util/error.h"

#include <QJsonDocument>

#include <cmath>

namespace tailor {

std::string jsonValueText(const QJsonValue& v)
{
    std::string s;
    switch (v.type()) {
    case QJsonValue::Null: s = "null"; break;
    case QJsonValue::Bool: s = v.toBool() ? "true" : "false"; break;
    case QJsonValue::Double: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", v.toDouble());
        s = buf;
        break;
    }
    case QJsonValue::String: s = "\"" + v.toString().toStdString() + "\""; break;
    case QJsonValue::Array: s = QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact).toStdString(); break;
    case QJsonValue::Object: s = QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact).toStdString(); break;
    case QJsonValue::Undefined: s = "nothing"; break;
    }
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

JsonReader::JsonReader(QJsonObject object, std::string file, std::string path)
    : object_(std::move(object)), file_(std::move(file)), path_(std::move(path))
{
}

void JsonReader::fail(const std::string& key, const std::string& message) const
{
    throw Error(file_ + ": key '" + key + "': " + message);
}

void JsonReader::expected(const std::string& key, const char* what, const QJsonValue& got) const
{
    fail(key, std::string("expected ") + what + ", got " + jsonValueText(got));
}

QJsonValue JsonReader::take(const char* key)
{
    known_.insert(key);
    return object_.value(QLatin1String(key));
}

std::string JsonReader::string(const char* key, const std::string& def)
{
    const QJsonValue v = take(key);
    if (v.isUndefined())
        return def;
    return stringAt(v, keyName(key));
}

std::string JsonReader::requireString(const char* key)
{
    const QJsonValue v = take(key);
    if (v.isUndefined())
        fail(keyName(key), "missing (a string is required)");
    return stringAt(v, keyName(key));
}

bool JsonReader::boolean(const char* key, bool def)
{
    const QJsonValue v = take(key);
    if (v.isUndefined())
        return def;
    if (!v.isBool())
        expected(keyName(key), "true or false", v);
    return v.toBool();
}

double JsonReader::number(const char* key, double def)
{
    const QJsonValue v = take(key);
    if (v.isUndefined())
        return def;
    if (!v.isDouble() || !std::isfinite(v.toDouble()))
        expected(keyName(key), "a number", v);
    return v.toDouble();
}

int64_t JsonReader::integer(const char* key, int64_t def, int64_t min, int64_t max)
{
    const QJsonValue v = take(key);
    if (v.isUndefined())
        return def;
    return integerAt(v, keyName(key), min, max);
}

int64_t JsonReader::integerAt(const QJsonValue& v, const std::string& where, int64_t min, int64_t max) const
{
    // doubles hold integers exactly up to 2^53; larger ones are not what was written
    const double d = v.toDouble();
    if (!v.isDouble() || d != std::floor(d) || std::fabs(d) > 9007199254740992.0)
        expected(where, "an integer", v);
    const auto i = int64_t(d);
    if (i < min || i > max)
        fail(where, jsonValueText(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    return i;
}

std::string JsonReader::stringAt(const QJsonValue& v, const std::string& where) const
{
    if (!v.isString())
        expected(where, "a string", v);
    return v.toString().toStdString();
}

JsonReader JsonReader::objectAt(const QJsonValue& v, const std::string& where) const
{
    if (!v.isObject())
        expected(where, "an object", v);
    return JsonReader(v.toObject(), file_, where);
}

QJsonArray JsonReader::array(const char* key)
{
    const QJsonValue v = take(key);
    if (v.isUndefined())
        return {};
    if (!v.isArray())
        expected(keyName(key), "a list", v);
    return v.toArray();
}

JsonReader JsonReader::object(const char* key)
{
    const QJsonValue v = take(key);
    if (v.isUndefined())
        return JsonReader({}, file_, keyName(key));
    return objectAt(v, keyName(key));
}

void JsonReader::finish() const
{
    for (auto it = object_.begin(); it != object_.end(); ++it) {
        if (known_.count(it.key().toStdString()))
            continue;
        std::string list;
        for (const auto& k : known_)
            list += (list.empty() ? "" : ", ") + k;
        throw Error(file_ + ": unknown key '" + keyName(it.key().toStdString()) + "' (known: " + list + ")");
    }
}

} // namespace tailor
