#include "gguf_metadata.h"
#include "core/util/error.h"

namespace tailor::gguf {

namespace {
bool isInteger(ValueType t)
{
    switch (t) {
    case ValueType::UInt8: case ValueType::Int8: case ValueType::UInt16: case ValueType::Int16:
    case ValueType::UInt32: case ValueType::Int32: case ValueType::UInt64: case ValueType::Int64: return true;
    default: return false;
    }
}
bool isNumber(ValueType t) { return isInteger(t) || t == ValueType::Float32 || t == ValueType::Float64; }

std::string typeOf(const KeyValue& kv)
{
    return kv.type == ValueType::Array ? "an array of " + valueTypeName(kv.element_type) : "a " + valueTypeName(kv.type);
}
} // namespace

std::string valueTypeName(ValueType t)
{
    static const char* names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
                                  "string", "array", "uint64", "int64", "float64"};
    const auto i = std::size_t(t);
    return i < std::size(names) ? names[i] : "type " + std::to_string(i);
}

const KeyValue& Metadata::expect(const std::string& key, bool array) const
{
    const KeyValue* kv = f_.find(key);
    if (!kv)
        throw Error(where(key) + ": missing");
    if ((kv->type == ValueType::Array) != array)
        throw Error(where(key) + ": expected " + (array ? "an array" : "a single value") + ", got " + typeOf(*kv));
    return *kv;
}

std::optional<int64_t> Metadata::integer(const std::string& key) const
{
    if (!has(key))
        return std::nullopt;
    const KeyValue& kv = expect(key, false);
    if (!isInteger(kv.type))
        throw Error(where(key) + ": expected an integer, got " + typeOf(kv));
    if (kv.type == ValueType::UInt64 && kv.value.toULongLong() > uint64_t(INT64_MAX))
        throw Error(where(key) + ": " + std::to_string(kv.value.toULongLong()) + " is out of range");
    return kv.value.toLongLong();
}

int64_t Metadata::requireInteger(const std::string& key) const
{
    const auto v = integer(key);
    if (!v)
        throw Error(where(key) + ": missing");
    return *v;
}

std::optional<double> Metadata::number(const std::string& key) const
{
    if (!has(key))
        return std::nullopt;
    const KeyValue& kv = expect(key, false);
    if (!isNumber(kv.type))
        throw Error(where(key) + ": expected a number, got " + typeOf(kv));
    return kv.value.toDouble();
}

std::optional<bool> Metadata::boolean(const std::string& key) const
{
    if (!has(key))
        return std::nullopt;
    const KeyValue& kv = expect(key, false);
    if (kv.type != ValueType::Bool)
        throw Error(where(key) + ": expected a bool, got " + typeOf(kv));
    return kv.value.toBool();
}

std::optional<std::string> Metadata::string(const std::string& key) const
{
    if (!has(key))
        return std::nullopt;
    const KeyValue& kv = expect(key, false);
    if (kv.type != ValueType::String)
        throw Error(where(key) + ": expected a string, got " + typeOf(kv));
    return kv.value.toString().toStdString();
}

std::string Metadata::requireString(const std::string& key) const
{
    const auto v = string(key);
    if (!v)
        throw Error(where(key) + ": missing");
    return *v;
}

std::vector<std::string> Metadata::strings(const std::string& key) const
{
    if (!has(key))
        return {};
    const KeyValue& kv = expect(key, true);
    if (kv.element_type != ValueType::String)
        throw Error(where(key) + ": expected an array of strings, got " + typeOf(kv));
    std::vector<std::string> out;
    const QVariantList list = kv.value.toList();
    out.reserve(std::size_t(list.size()));
    for (const QVariant& v : list)
        out.push_back(v.toString().toStdString());
    return out;
}

std::vector<double> Metadata::numbers(const std::string& key) const
{
    if (!has(key))
        return {};
    const KeyValue& kv = expect(key, true);
    if (!isNumber(kv.element_type))
        throw Error(where(key) + ": expected an array of numbers, got " + typeOf(kv));
    std::vector<double> out;
    for (const QVariant& v : kv.value.toList())
        out.push_back(v.toDouble());
    return out;
}

std::vector<int64_t> Metadata::integers(const std::string& key) const
{
    if (!has(key))
        return {};
    const KeyValue& kv = expect(key, true);
    if (!isInteger(kv.element_type))
        throw Error(where(key) + ": expected an array of integers, got " + typeOf(kv));
    std::vector<int64_t> out;
    for (const QVariant& v : kv.value.toList())
        out.push_back(v.toLongLong());
    return out;
}

std::vector<int64_t> Metadata::perBlock(const std::string& key, int64_t n) const
{
    const KeyValue* kv = f_.find(key);
    if (!kv)
        return {};
    if (kv->type != ValueType::Array)
        return std::vector<int64_t>(std::size_t(n), requireInteger(key));
    std::vector<int64_t> v = integers(key);
    if (int64_t(v.size()) != n)
        throw Error(where(key) + ": " + std::to_string(v.size()) + " values for " + std::to_string(n) + " blocks");
    return v;
}

} // namespace tailor::gguf
