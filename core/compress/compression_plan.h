#pragma once
// A compression plan: blocks to drop, per-layer ranks, healing and
// quantization, stored as JSON that the GUI and the CLI both read and write:
//   {"model": DIR, "drop_blocks": [2, 5], "ranks": {tensor: k},
//    "quant": {"scheme": "int4_sym_g32", "method": "gptq", "act_order": true, "layers": REGEX}
//             or {"rules": [{"layers": REGEX, "scheme": NAME}, ...], "imatrix": FILE},
//    "calib": FILE, "eval": FILE, "task": FILE.jsonl, "whiten": true, "heal": {"text": FILE, "steps": 200, "rank": 8, ...},
//    "gguf": {"type": "q4_k_m", "imatrix": FILE, "tensor_types": ["attn_v=q8_0"]},
//    "width": {"criterion": "taylor", "groups": [[1], [0], ...], "channels": [[5, 17, ...], ...]}}
// ("width": per block, the KV groups and MLP channels removed, applied after
// dropping and before low rank; width_prune.h.)
// ("experts": see PlanExperts; applied right after dropping.)
// ("heal" takes the settings of HealOptions, core/heal/lora_heal.h, or is
// {"method": "linear", "text": FILE, "ridge": 1e-3, "seq_len": 128,
// "max_windows": 64}: a fitted map per dropped span, core/heal/linear_heal.h.)
// Absent parts mean "leave as is": {"model": DIR, "drop_blocks": [2]} is valid.
// Read strictly (core/util/json_reader.h): values of the wrong type, integers
// that are not integers, bad regexes and unknown keys are refused with the
// key's name; toJson() writes every choice, so fromJson(toJson(p)) is p.
#include "core/compress/width_prune.h"
#include "core/heal/linear_heal.h"
#include "core/heal/lora_heal.h"
#include "core/quant/quant_report.h"

#include <QJsonArray>
#include <QJsonObject>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tailor {

// Whether a command's MODEL|PLAN argument names a plan file: a file that is
// not a model (a GGUF file is a model; an HF model is a folder).
bool isPlanFile(const std::string& path);

class Model;

// [[0, 2], [1], ...]: per-block unit or expert lists as the plan file writes them.
QJsonArray intListsJson(const std::vector<std::vector<int>>& lists);

// Schemes are parsed where they enter (plan file, CLI, widget) and carried
// as values; a plan file holds their names.
struct PlanQuantRule {
    std::string layers; // regex searched in the HF tensor name
    QuantScheme scheme;
};

struct PlanQuant {
    QuantScheme scheme;        // e.g. int4_sym_g32, q8_0 (unused when rules are given)
    QuantMethod method = QuantMethod::Rtn; // "method": "rtn" | "gptq"
    bool act_order = false;                // GPTQ's columns by decreasing activation ("act_order": true)
    std::string layers;        // regex, empty = all linear layers
    // Mixed precision (a budget's allocation, tailor-cli quant --target-bpw):
    // the first rule matching a layer decides its scheme; when present,
    // scheme and layers are unused and unmatched layers stay as they are.
    std::vector<PlanQuantRule> rules;
    std::string imatrix; // importance matrix for llama.cpp's types (GGUF file)

    // The scheme a linear layer gets (none when it stays as it is).
    std::optional<QuantScheme> schemeFor(const std::string& tensor) const;
};

struct PlanHeal {
    // "lora": LoRA (with optional distillation) trained on `text`, `options`.
    // "linear": each dropped span replaced by a least-squares linear map
    // fitted on `text`, merged into the block before it (core/heal/linear_heal.h).
    // "last-layers": LoRA on the last options.last_blocks kept blocks only
    // ("layers": K in the plan), the blocks before them frozen and run
    // without gradients.
    std::string method = "lora";
    std::string text; // the training or fitting text
    HealOptions options;      // lora
    LinearHealOptions linear; // linear
    bool isLinear() const { return method == "linear"; }
};

// How a GGUF export of the plan is typed (tailor-cli compress --format gguf;
// its --type, --imatrix and --tensor-type override these).
struct PlanGguf {
    std::string type;                      // a llama-quantize file type (gguf_mixture.h)
    std::string imatrix;                   // importance matrix file (llama.cpp's GGUF format)
    std::vector<std::string> tensor_types; // "REGEX=TYPE", first match wins
};

// Expert pruning of a mixture (#30; core/compress/expert_prune.h): per block
// the experts kept, or a count chosen at apply time on the plan's "calib"
// text by the criterion. JSON: {"keep": [[0, 2, 3, ...], ...], "criterion":
// "reap"} or {"keep": 6, "criterion": "freq"}.
struct PlanExperts {
    std::vector<std::vector<int>> keep; // per block; empty when keep_count is given
    int64_t keep_count = 0;
    std::string criterion = "freq"; // how the lists were (or are to be) chosen
};

struct CompressionPlan {
    std::string model;
    std::string calib;     // calibration text for whitened SVD / GPTQ (optional)
    std::string eval_text; // "eval": each stage's PPL, KLD and top-1 on this text (optional)
    std::string task;      // "task": each stage's multiple-choice accuracy (JSON Lines, optional)
    std::vector<int> drop_blocks;
    std::map<std::string, int64_t> ranks;
    bool whiten = false;
    std::optional<PlanQuant> quant;
    std::optional<PlanHeal> heal;
    std::optional<PlanGguf> gguf;
    std::optional<WidthPlan> width;
    std::optional<PlanExperts> experts; // applied after dropping, before width
    std::string width_criterion; // how the units were chosen (for the report)

    // `label` names the file in errors.
    static CompressionPlan fromJson(const QJsonObject& o, const std::string& label);
    static CompressionPlan fromFile(const std::string& path);
    QJsonObject toJson() const;
    void save(const std::string& path) const; // atomic

    // Checks the plan against the model: blocks and tensors exist, ranks fit.
    void validate(const Model& model) const;
};

} // namespace tailor
