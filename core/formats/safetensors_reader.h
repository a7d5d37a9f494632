#pragma once
// safetensors reader: memory-mapped, zero-copy.
//
// File layout (https://github.com/huggingface/safetensors):
//   u64 little-endian  N            header length in bytes
//   N bytes            JSON header  {"name": {"dtype": "BF16", "shape": [..],
//                                    "data_offsets": [begin, end]}, ...,
//                                    "__metadata__": {str: str}}
//   rest               data section; offsets are relative to its start
//
// Everything is validated before any data is touched: header length within the
// file and <= 100 MB, well-formed JSON, known dtype, shape x dtype size equal to
// the byte span, spans inside the data section, no overlaps, no duplicates.
// Every failure names the file and the tensor.
#include "core/util/dtype.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t offset = 0; // absolute position in the file
    uint64_t bytes = 0;
    const void* data = nullptr; // inside the mapping

    int64_t numel() const;
};

class SafetensorsFile {
public:
    // Throws tailor::Error naming the file and the problem.
    static std::shared_ptr<SafetensorsFile> open(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    uint64_t fileSize() const { return size_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* find(const std::string& name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

    static constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

private:
    SafetensorsFile() = default;
    void parseHeader(const char* json, uint64_t len, uint64_t dataStart);

    std::string path_;
    void* map_ = nullptr;
    uint64_t size_ = 0;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, std::size_t> index_;
    std::map<std::string, std::string> metadata_;
};

} // namespace tailor
