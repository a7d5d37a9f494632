#pragma once
// One typed, strict reader for the JSON files users write (plans and the
// parts inside them), in the manner of llama.cpp's loader that reads every
// key through one typed accessor: each value is read with the type it must
// have, and every refusal has one shape,
//   FILE: key 'quant.act_order': expected true or false, got "yes"
//   FILE: unknown key 'quant.sheme' (known: scheme, method, ...)
// Integers must be integers (1.5 is refused, not truncated), and finish()
// refuses keys nobody read, so a typo is named instead of ignored.
#include <QJsonArray>
#include <QJsonObject>

#include <cstdint>
#include <set>
#include <string>

namespace tailor {

class JsonReader {
public:
    // `file` names the file in errors; `path` is the object's place in it
    // ("quant", "heal"), empty for the top level.
    JsonReader(QJsonObject object, std::string file, std::string path = {});

    bool has(const char* key) const { return object_.contains(QLatin1String(key)); }

    // Each accessor marks the key as known; optional ones return `def` when
    // the key is absent (a present key of the wrong type is an error).
    std::string string(const char* key, const std::string& def = {});
    std::string requireString(const char* key);
    bool boolean(const char* key, bool def);
    double number(const char* key, double def);
    int64_t integer(const char* key, int64_t def, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
    QJsonArray array(const char* key); // empty when absent
    JsonReader object(const char* key); // an empty object when absent
    // A key that is accepted without being read here (read by other code).
    void allow(const char* key) { known_.insert(key); }

    // Elements of an array read from this object: `where` is "drop_blocks[3]".
    int64_t integerAt(const QJsonValue& v, const std::string& where, int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
    std::string stringAt(const QJsonValue& v, const std::string& where) const;
    JsonReader objectAt(const QJsonValue& v, const std::string& where) const;

    // Refuses every key that no accessor asked for, listing the known ones.
    void finish() const;

    // The full key name of `key` in this object ("quant.scheme").
    std::string keyName(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
    // "FILE: key 'K': MESSAGE" for checks the reader does not know about.
    [[noreturn]] void fail(const std::string& key, const std::string& message) const;
    const std::string& file() const { return file_; }
    const std::string& path() const { return path_; }

private:
    [[noreturn]] void expected(const std::string& key, const char* what, const QJsonValue& got) const;
    QJsonValue take(const char* key);

    QJsonObject object_;
    std::string file_, path_;
    std::set<std::string> known_;
};

// A JSON value as it would be written, shortened for messages.
std::string jsonValueText(const QJsonValue& v);

} // namespace tailor
