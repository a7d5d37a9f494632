#pragma once
// Exports a (compressed) model as a Hugging Face directory: config.json with
// num_hidden_layers updated, blocks renumbered, safetensors in F32/F16/BF16
// (by default each tensor in the dtype the source stored it in)
// (sharded with an index above shard_bytes), the tokenizer files copied, and a
// model card saying what was done. Everything is written into a temporary
// sibling directory that is renamed into place at the end, so a failed or
// cancelled export leaves nothing behind; an existing output is replaced only
// with `force`. Low-rank layers are written merged (dense), or with `factored`
// as the pair <name>.lora_A.weight [k, in] and <name>.lora_B.weight [out, k]
// (W = lora_B · lora_A, PEFT's shapes) instead of <name>.weight; Tailor's
// loader multiplies them back (Checkpoint::factoredWeights).
#include "core/util/progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

class Model;

struct HfExportOptions {
    std::string dtype; // F32 | F16 | BF16; empty: each tensor as stored in the source
    uint64_t shard_bytes = uint64_t(2) << 30;
    bool force = false;
    std::string model_card; // appended to the generated README.md
    bool factored = false;
};

void exportHf(const Model& model, const std::vector<int>& dropBlocks, const std::string& outDir,
              const HfExportOptions& opt, const ProgressFn& progress = {});

} // namespace tailor
