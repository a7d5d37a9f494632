#pragma once
// Typed reads of a GGUF file's metadata with one error shape, as llama.cpp's
// loader reads every key through one accessor (llama-model-loader.cpp's
// get_key / get_arr): "FILE: metadata 'llama.block_count': expected an
// integer, got a string". Integers of any width are integers; floats of
// either width are numbers.
#include "gguf_reader.h"

#include <optional>
#include <string>
#include <vector>

namespace tailor::gguf {

class Metadata {
public:
    explicit Metadata(const File& f) : f_(f) {}

    bool has(const std::string& key) const { return f_.find(key) != nullptr; }
    std::optional<int64_t> integer(const std::string& key) const;
    int64_t requireInteger(const std::string& key) const;
    std::optional<double> number(const std::string& key) const;
    std::optional<bool> boolean(const std::string& key) const;
    std::optional<std::string> string(const std::string& key) const;
    std::string requireString(const std::string& key) const;
    // An array of that element kind; empty when the key is absent.
    std::vector<std::string> strings(const std::string& key) const;
    std::vector<double> numbers(const std::string& key) const;
    std::vector<int64_t> integers(const std::string& key) const;
    // A number per block or one for all (llama.cpp's per-layer keys, such as
    // deci's head counts): `n` values, or empty when the key is absent.
    std::vector<int64_t> perBlock(const std::string& key, int64_t n) const;

    // "FILE: metadata 'KEY': WHAT", for errors about a value read well.
    std::string where(const std::string& key) const { return f_.path() + ": metadata '" + key + "'"; }

private:
    const KeyValue& expect(const std::string& key, bool array) const;
    const File& f_;
};

// "uint32", "string", "array of float32" ...
std::string valueTypeName(ValueType t);

} // namespace tailor::gguf
