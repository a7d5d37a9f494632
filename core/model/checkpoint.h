#pragma once
// A Hugging Face model directory: config.json plus one or more safetensors
// files (single `model.safetensors`, or shards listed by
// `model.safetensors.index.json`); or a GGUF file read as one
// (gguf_checkpoint.cpp: its metadata as the config, its tensors under their
// HF names). Tensors stay memory-mapped in the checkpoint's dtype; nothing
// here touches torch.
#include "model_config.h"
#include "core/formats/gguf/gguf_types.h"
#include "core/formats/safetensors_reader.h"

#include <deque>
#include <optional>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tailor {

namespace gguf { class File; }

struct CheckpointTensor {
    const TensorInfo* info = nullptr;
    std::shared_ptr<SafetensorsFile> file; // safetensors: keeps the mapping alive
    std::shared_ptr<const void> keep;      // GGUF: keeps its mapping (or an un-permuted copy) alive
    // A llama.cpp block type from a GGUF: info->data points at its blocks
    // (rows of shape.back() elements) and info->dtype is F32, what its values
    // widen to (tensorFromCheckpoint dequantizes).
    std::optional<gguf::TensorType> ggml;
    std::string storedIn() const; // the file, for messages
};

class Checkpoint {
public:
    // Opens, parses config.json, maps and validates every safetensors file, and
    // checks that each tensor the architecture needs is present with its shape.
    static std::shared_ptr<Checkpoint> open(const std::string& dir);
    // A GGUF file (llama, deci, qwen2, qwen3): the metadata as a ModelConfig,
    // tensors renamed to HF names, llama.cpp's q/k row order undone. Throws
    // naming the file and the key or tensor.
    static std::shared_ptr<Checkpoint> openGguf(const std::string& path);
    // A path ending in .gguf opens as GGUF, anything else as an HF folder.
    static std::shared_ptr<Checkpoint> openAny(const std::string& path);
    static bool isGgufPath(const std::string& path);

    const std::string& dir() const { return dir_; }
    const ModelConfig& config() const { return config_; }
    const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
    const CheckpointTensor* find(const std::string& name) const;
    // Throws naming the tensor and the files searched.
    const CheckpointTensor& get(const std::string& name) const;
    const std::map<std::string, CheckpointTensor>& tensors() const { return tensors_; }
    uint64_t totalBytes() const;
    // The GGUF this checkpoint was read from (null for safetensors).
    const gguf::File* ggufFile() const { return gguf_.get(); }
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

    std::string dir_; // the folder, or the GGUF file
    ModelConfig config_;
    std::shared_ptr<gguf::File> gguf_;
    uint64_t ggufSize_ = 0;
    std::deque<TensorInfo> ggufInfos_; // the TensorInfo of GGUF tensors (stable addresses)
    std::vector<std::shared_ptr<SafetensorsFile>> files_;
    std::map<std::string, CheckpointTensor> tensors_;
    mutable std::map<std::string, std::pair<const CheckpointTensor*, const CheckpointTensor*>> factored_;
};

} // namespace tailor
