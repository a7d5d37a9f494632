#pragma once
// A Hugging Face model directory: config.json plus one or more safetensors
// files (single `model.safetensors`, or shards listed by
// `model.safetensors.index.json`). Tensors stay memory-mapped in the
// checkpoint's dtype; nothing here touches torch.
#include "model_config.h"
#include "core/formats/safetensors_reader.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

struct CheckpointTensor {
    const TensorInfo* info = nullptr;
    std::shared_ptr<SafetensorsFile> file; // keeps the mapping alive
};

class Checkpoint {
public:
    // Opens, parses config.json, maps and validates every safetensors file, and
    // checks that each tensor the architecture needs is present with its shape.
    static std::shared_ptr<Checkpoint> open(const std::string& dir);

    const std::string& dir() const { return dir_; }
    const ModelConfig& config() const { return config_; }
    const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
    const CheckpointTensor* find(const std::string& name) const;
    // Throws naming the tensor and the files searched.
    const CheckpointTensor& get(const std::string& name) const;
    const std::map<std::string, CheckpointTensor>& tensors() const { return tensors_; }
    uint64_t totalBytes() const;
    // dtype most of the weight bytes are stored in ("BF16", "F32" ...).
    std::string mainDType() const;
    // Weights stored factored as <base>.lora_B.weight [out, k] and
    // <base>.lora_A.weight [k, in] instead of <base>.weight: name -> {B, A}.
    const std::map<std::string, std::pair<const CheckpointTensor*, const CheckpointTensor*>>& factoredWeights() const
    {
        return factored_;
    }

private:
    void validateArchitecture() const;
    std::string searchedFiles() const;

    std::string dir_;
    ModelConfig config_;
    std::vector<std::shared_ptr<SafetensorsFile>> files_;
    std::map<std::string, CheckpointTensor> tensors_;
    mutable std::map<std::string, std::pair<const CheckpointTensor*, const CheckpointTensor*>> factored_;
};

} // namespace tailor
