#pragma once
// Writes a safetensors file atomically (QSaveFile: temporary file, then rename),
// so a failed or cancelled write never leaves a half-written checkpoint.
// Tensors are written in the order given; the header is padded with spaces
// to a multiple of 8 bytes so the data section stays aligned.
#include "core/util/dtype.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tailor {

struct TensorToWrite {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;
    uint64_t bytes = 0; // must equal numel * dtypeSize(dtype)
};

void writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// The header bytes (length prefix included) the writer would produce; tests use
// it to build deliberately broken files.
std::string safetensorsHeader(const std::vector<TensorToWrite>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

} // namespace tailor
