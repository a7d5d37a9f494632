#pragma once
// Reads a GGUF v3 file (memory-mapped) for inspection and for checking
// exports: metadata, tensor infos, and any F32/F16/BF16/Q8_0/Q4_0 tensor
// dequantized to fp32. Everything is validated before use (string and array
// lengths inside the file, known types, dimensions, aligned offsets, data
// inside the file and not overlapping); errors name the file and the key or tensor.
#include "gguf_types.h"

#include <QVariant>
#include <memory>
#include <string>
#include <vector>

class QFile;

namespace tailor::gguf {

struct KeyValue {
    std::string key;
    ValueType type = ValueType::UInt8;
    ValueType element_type = ValueType::UInt8; // arrays
    QVariant value; // integers as qint64/quint64, floats as double, strings as QString, arrays as QVariantList
};

struct TensorInfo {
    std::string name;
    std::vector<int64_t> ne; // ggml order: ne[0] = row length
    TensorType type = TensorType::F32;
    uint64_t offset = 0;     // from the start of the data section
    int64_t bytes = 0;
    int64_t elements() const;
};

class File {
public:
    static std::shared_ptr<File> open(const std::string& path);
    ~File();

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    const std::vector<KeyValue>& metadata() const { return kv_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const KeyValue* find(const std::string& key) const;
    const TensorInfo* tensor(const std::string& name) const;

    // Values in ggml order (row after row of ne[0] elements).
    std::vector<float> dequantize(const std::string& name) const;
    const uint8_t* data(const TensorInfo& t) const;

private:
    File() = default;
    std::string path_;
    std::unique_ptr<QFile> file_;
    const uint8_t* map_ = nullptr;
    uint64_t size_ = 0, dataStart_ = 0;
    uint32_t version_ = 0, alignment_ = kDefaultAlignment;
    std::vector<KeyValue> kv_;
    std::vector<TensorInfo> tensors_;
};

} // namespace tailor::gguf
