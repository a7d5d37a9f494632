#pragma once
// Writes a GGUF v3 file: header, metadata key/values, tensor infos, then the
// tensor data, each aligned to general.alignment (32 unless set). Tensor bytes
// come from callbacks at write time, so only one tensor is in memory at once.
// Written through a temporary file renamed at the end: a failure or a cancel
// leaves no partial file, and an existing file is replaced only with `force`.
#include "gguf_types.h"
#include "core/util/progress.h"

#include <QByteArray>
#include <functional>
#include <string>
#include <vector>

namespace tailor::gguf {

class Writer {
public:
    void addString(const std::string& key, const std::string& v);
    void addUInt32(const std::string& key, uint32_t v);
    void addInt32(const std::string& key, int32_t v);
    void addFloat32(const std::string& key, float v);
    void addBool(const std::string& key, bool v);
    void addStringArray(const std::string& key, const std::vector<std::string>& v);
    void addFloat32Array(const std::string& key, const std::vector<float>& v);
    void addInt32Array(const std::string& key, const std::vector<int32_t>& v);

    // ne in ggml order (ne[0] = elements of a row, i.e. the columns of [rows, cols]).
    void addTensor(const std::string& name, const std::vector<int64_t>& ne, TensorType type,
                   std::function<QByteArray()> data);

    void write(const std::string& path, bool force, const ProgressFn& progress = {}) const;
    // The bytes write() would produce (header, metadata, tensor infos, aligned data).
    uint64_t fileSize() const;

private:
    void key(const std::string& k, ValueType t);
    QByteArray header() const; // up to the first tensor's data, padded
    struct Tensor {
        std::string name;
        std::vector<int64_t> ne;
        TensorType type;
        int64_t bytes;
        std::function<QByteArray()> data;
    };
    QByteArray kv_;
    uint64_t kvCount_ = 0;
    uint32_t alignment_ = kDefaultAlignment;
    std::vector<Tensor> tensors_;
};

} // namespace tailor::gguf
