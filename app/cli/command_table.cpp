#include "command_table.h"
#include "core/formats/gguf/gguf_mixture.h"

#include <stdexcept>
#include <string>

namespace tailor::cli {

namespace {

// Options several commands share, spelled once.
const OptionSpec kJson{"json", nullptr, "print the result as JSON on stdout"};
const OptionSpec kThreads{"threads", "N", "compute threads (default: follow the machine's load)"};
const OptionSpec kSeqLen{"seq-len", "L", "window length in tokens"};
const OptionSpec kWindows{"windows", "N", "calibration windows"};
const OptionSpec kCalib{"calib", "FILE", "calibration text"};
const OptionSpec kForce{"force", nullptr, "replace an existing output"};
const OptionSpec kLayers{"layers", "REGEX", "only the layers whose HF tensor name matches"};
const OptionSpec kInt8{"int8", nullptr, "block-quantized layers on int8 GEMM against inputs rounded to Q8_0, as llama.cpp computes (faster; default: exact fp32)"};

// The GGUF file types from the mixture table itself, so a new row shows here.
const char* ggufTypeHelp()
{
    static const std::string text = [] {
        std::string names;
        for (const auto& m : gguf::mixtures())
            names += std::string(names.empty() ? "" : " ") + m.name;
        return "HF: f32|f16|bf16 (default: as stored); GGUF: a llama-quantize type (" + names +
               "; the IQ2/IQ1 and IQ3_XXS types need --imatrix; default: the plan's, else f16)";
    }();
    return text.c_str();
}

std::vector<CommandSpec> buildTable()
{
    const std::vector<OptionSpec> eval = {
        {"text", "FILE", "evaluation text (required)"},
        kSeqLen,
        {"max-windows", "N", "evaluate at most N windows (0: all)"},
        kThreads,
        {"batch-tokens", "N", "tokens per forward batch"},
        {"base", "MODEL|PLAN.json", "also KL divergence and top-1 agreement against this model"},
        kInt8,
    };
    auto with = [](std::vector<OptionSpec> v, std::initializer_list<OptionSpec> more) {
        v.insert(v.end(), more);
        return v;
    };
    return {
        {"info", "MODEL_DIR|FILE.gguf", "what a checkpoint or GGUF file holds", {kJson}},
        {"eval", "MODEL|PLAN.json", "perplexity by the window protocol (a plan is applied first)",
         with(eval, {{"drop", "BLOCKS", "skip these blocks (\"2, 5-7, -1\")"}, kJson})},
        {"compare", "BASE FILE...", "several model files against one base on your text, sorted by size",
         {{"text", "FILE", "evaluation text (required)"}, kSeqLen, {"max-windows", "N", "evaluate at most N windows (0: all)"},
          {"batch-tokens", "N", "tokens per forward batch"}, kInt8, kJson}},
        {"tokenize", "MODEL_OR_TOKENIZER_DIR", "token ids of a text",
         {{"text", "FILE", "a text file"}, {"string", "S", "a string"}, {"text-list", "FILE", "one text per line"}, kJson}},
        {"blocks", "MODEL", "per-block importance: PPL, Taylor+, Block Influence",
         {kCalib,
          {"criterion", "ppl|taylor|bi|all", "which criteria (default all)"},
          kWindows,
          kSeqLen,
          {"random-windows", nullptr, "windows at random places (with --seed)"},
          {"seed", "S", "seed of the random windows"},
          {"exclude", "BLOCKS", "blocks Taylor+ never suggests (default 0-3 and the last two)"},
          {"only-blocks", "A-B", "score only these blocks (a shard; merge with 'merge')"},
          {"suggest", "N", "suggest N blocks to drop"},
          {"iterative", nullptr, "suggest by dropping one block at a time and scoring again"},
          {"out", "FILE", "write the scores as JSON"},
          kThreads,
          kJson}},
        {"drop", "MODEL", "perplexity with blocks dropped",
         with(eval, {{"blocks", "BLOCKS", "the blocks to drop (required)"}, kJson})},
        {"merge", "PART.json...", "merge block-scan shards", {{"out", "FILE", "write the merged scan"}, kJson}},
        {"quant", "MODEL", "quantization error per layer, quantized perplexity",
         {kCalib,
          {"method", "rtn|gptq", "round to nearest or GPTQ"},
          {"act-order", nullptr, "GPTQ: columns by decreasing activation"},
          {"bits", "B", "bits per weight (2-8)"},
          {"group", "G|channel|tensor", "scale group"},
          {"sym", nullptr, "symmetric grid"},
          {"asym", nullptr, "asymmetric grid"},
          {"clip", "minmax|mse", "clipping range"},
          {"scheme", "NAME", "a scheme by name (int4_sym_g32, q8_0, q4_k, ...)"},
          {"mixed", "PLAN.json", "per-layer schemes from a plan's quant rules"},
          kLayers,
          {"embeddings", "SCHEME", "also quantize the embeddings"},
          {"lm-head", "SCHEME", "also quantize the output head"},
          {"acts", "B", "also quantize activations to B bits"},
          {"acts-range", "minmax|percentile|dynamic", "activation range"},
          {"acts-percentile", "P", "percentile for --acts-range percentile"},
          {"sensitivity", nullptr, "each layer's perplexity when quantized alone"},
          {"text", "FILE", "quantized perplexity on this text"},
          kWindows,
          kSeqLen,
          kThreads,
          kJson}},
        {"quant", "MODEL", "a type per layer for a size budget (mixed precision)",
         {kCalib,
          {"target-bpw", "B", "bits per linear weight"},
          {"target-size", "BYTES[K|M|G]|TYPE", "GGUF file size, or the size of a llama-quantize type"},
          {"imatrix", "FILE.gguf", "importance matrix for llama.cpp's types"},
          {"schemes", "a,b,...", "candidate types"},
          {"base-type", "TYPE", "what the other tensors are typed as (default q8_0)"},
          {"text", "FILE", "evaluation text for the measured points"},
          kSeqLen,
          kWindows,
          {"eval-seq-len", "L", "window length of the evaluation (default 256)"},
          {"max-windows", "N", "evaluate at most N windows"},
          {"points", "N", "measured points of the frontier (default 7)"},
          kInt8,
          {"probe", "reference|every", "how sensitivities are probed"},
          {"no-reference", nullptr, "skip the uniform-type references"},
          {"out", "PLAN.json", "write the chosen plan"},
          kForce,
          kThreads,
          kJson}},
        {"plan", "MODEL", "one size budget across depth, width and types (the best plan and the measured frontier)",
         {kCalib,
          {"target-size", "BYTES[K|M|G]|TYPE", "GGUF file size, or the size of a llama-quantize type of the dense model"},
          {"target-bpw", "B", "bits per parameter of the whole file"},
          {"axes", "a,b,...", "depth, width, quant (default all; quant is needed)"},
          {"max-drop", "D", "blocks dropped at most (default a quarter)"},
          {"no-heal", nullptr, "depth arms without the fitted linear map"},
          {"measure", "N", "plans measured end to end besides the quant-only one (default 4)"},
          {"frontier", "SIZE,...", "other sizes (bytes or types) at which the best plan of each kind is measured too"},
          {"task", "FILE.jsonl", "multiple-choice task: each measured plan's accuracy"},
          {"imatrix", "FILE.gguf", "importance matrix for llama.cpp's types"},
          {"text", "FILE", "evaluation text for the measured plans"},
          kSeqLen,
          kWindows,
          {"eval-seq-len", "L", "window length of the evaluation (default 256)"},
          {"max-windows", "N", "evaluate at most N windows"},
          {"out", "PLAN.json", "write the chosen plan (compress --format gguf exports it)"},
          kForce,
          kThreads,
          kJson}},
        {"qat", "MODEL", "quantization-aware fine-tuning",
         {{"text", "FILE", "training text (required)"},
          {"bits", "B", "bits per weight"},
          {"group", "G", "scale group"},
          {"sym", nullptr, "symmetric grid"},
          {"asym", nullptr, "asymmetric grid"},
          {"scheme", "NAME", "a scheme by name"},
          {"quant-noise", "P", "share of weights quantized per step (Quant-Noise)"},
          {"steps", "N", "optimizer steps"},
          {"lr", "LR", "learning rate"},
          {"batch", "B", "windows per step"},
          kSeqLen,
          kLayers,
          {"warmup", "N", "warm-up steps"},
          {"seed", "S", "random seed"},
          {"kd-weight", "W", "weight of distillation from the original model"},
          {"kd-temperature", "T", "distillation temperature"},
          {"eval", "FILE", "perplexity before and after on this text"},
          {"out", "DIR", "export the trained model"},
          {"type", "f32|bf16", "export dtype"},
          kForce,
          kJson}},
        {"spectrum", "MODEL", "singular values of every linear layer",
         {kLayers,
          {"top-k", "K", "only the K largest (randomized SVD)"},
          {"power-iterations", "Q", "power iterations of the randomized SVD"},
          {"no-cache", nullptr, "recompute instead of reading the spectra cache"},
          kJson}},
        {"lowrank", "MODEL", "factorize to chosen ranks and measure",
         {kCalib,
          {"energy", "E", "ranks keeping this share of the energy"},
          {"budget", "B", "ranks for this share of the parameters"},
          {"ranks", "FILE.json", "ranks by layer"},
          {"whiten", nullptr, "activation-whitened SVD"},
          kLayers,
          {"text", "FILE", "perplexity on this text"},
          kWindows,
          kSeqLen,
          {"top-k", "K", "randomized SVD of the K largest"},
          {"power-iterations", "Q", "power iterations of the randomized SVD"},
          {"no-cache", nullptr, "recompute instead of reading the spectra cache"},
          kJson}},
        {"width", "MODEL", "width pruning: KV groups and MLP channels",
         {kCalib,
          {"criterion", "taylor|activation|magnitude", "how units are scored"},
          {"heads", "K", "KV groups to remove per block"},
          {"mlp", "M", "MLP channels to remove per block"},
          {"uniform", nullptr, "the same count in every block (the default)"},
          {"non-uniform", nullptr, "the lowest-scoring units across blocks"},
          kWindows,
          kSeqLen,
          {"text", "FILE", "perplexity before and after on this text"},
          {"out", "PLAN.json", "write a plan with the width stage"},
          kJson}},
        {"speed", "MODEL|PLAN.json", "measured prefill and decode speed",
         {{"drop", "BLOCKS", "skip these blocks"},
          {"prompt-tokens", "N", "prompt length (default 64)"},
          {"decode-tokens", "N", "tokens generated (default 32)"},
          {"repeats", "N", "runs (medians are reported)"},
          {"batch", "B", "also B sequences together"},
          kThreads,
          kJson}},
        {"generate", "MODEL|PLAN.json", "text generation with a KV cache",
         {{"prompt", "S", "the prompt (required)"},
          {"max-tokens", "N", "tokens to generate"},
          {"temperature", "T", "sampling temperature (0: greedy)"},
          {"top-p", "P", "nucleus sampling"},
          {"seed", "S", "sampling seed"},
          {"drop", "BLOCKS", "skip these blocks"},
          kThreads,
          kJson}},
        {"compress", "", "apply a plan (drop, width, low rank, heal, quantize) and export it",
         {{"plan", "PLAN.json", "the plan (required)"},
          {"out", "DIR|FILE.gguf", "where to export (required unless --dry-run)"},
          {"dry-run", nullptr, "only check the plan against its model"},
          {"format", "hf|gguf", "a Hugging Face folder or one GGUF file"},
          {"type", "TYPE", ggufTypeHelp()},
          {"imatrix", "FILE.gguf", "GGUF: importance matrix"},
          {"tensor-type", "REGEX=TYPE", "GGUF: a tensor type override (repeatable; before the plan's)"},
          {"factored", nullptr, "HF: keep low-rank layers as lora_A/lora_B pairs"},
          {"text", "FILE", "evaluation text: each stage's PPL, KLD and top-1 (overrides the plan's 'eval')"},
          {"task", "FILE.jsonl", "each stage's multiple-choice accuracy (overrides the plan's 'task')"},
          {"heal-text", "FILE", "add healing on this text (or override the plan's)"},
          {"heal-method", "M", "lora (train adapters, default), last-layers (adapters on the last K blocks) or linear (fit a map per dropped span, no training)"},
          {"heal-layers", "K", "last-layers: how many of the last kept blocks get adapters"},
          {"heal-ridge", "R", "linear: ridge as a share of the mean diagonal (default 1e-3)"},
          {"heal-steps", "N", "healing steps"},
          {"heal-rank", "R", "LoRA rank"},
          {"heal-alpha", "A", "LoRA alpha"},
          {"heal-lr", "LR", "learning rate"},
          {"heal-batch", "B", "windows per micro-batch"},
          {"heal-accum", "K", "micro-batches per step"},
          {"heal-seed", "S", "healing seed"},
          {"kd-weight", "W", "weight of distillation from the dense model"},
          {"kd-temperature", "T", "distillation temperature"},
          {"report", "DIR", "write a report folder (Markdown, JSON, charts)"},
          {"prompt", "S", "the report's continuation prompt"},
          kForce,
          kJson}},
        {"tasks", "MODEL", "multiple-choice task accuracy (lm-evaluation-harness method)",
         {{"task", "FILE.jsonl", "the task (required)"},
          {"drop", "BLOCKS", "skip these blocks"},
          {"base", "DIR", "also the base model's accuracy"},
          {"max-items", "N", "at most N items"},
          kJson}},
        {"experts", "MODEL", "mixture of experts: routing per block and expert, expert pruning",
         {kCalib,
          {"keep", "N", "keep the N best experts of every block (writes no file without --out)"},
          {"criterion", "freq|reap", "how experts are ranked: how often chosen (default), or router weight x output size (REAP)"},
          kWindows,
          kSeqLen,
          {"text", "FILE", "perplexity before and after on this text"},
          {"out", "PLAN.json", "write a plan with the experts stage"},
          kJson}},
        {"imatrix", "MODEL", "importance matrix in llama.cpp's GGUF format",
         {kCalib, {"out", "FILE.gguf", "the matrix file (required)"}, kWindows, kSeqLen, kForce, kJson}},
    };
}

std::string optionText(const OptionSpec& o) { return std::string("--") + o.name + (o.value ? std::string(" ") + o.value : ""); }

} // namespace

const std::vector<CommandSpec>& commandTable()
{
    static const std::vector<CommandSpec> table = buildTable();
    return table;
}

const CommandSpec& commandSpec(const std::string& name, int form)
{
    for (const CommandSpec& c : commandTable())
        if (name == c.name && form-- == 0)
            return c;
    throw std::logic_error("no command '" + name + "' in the command table");
}

std::string CommandSpec::usage() const
{
    std::string s = std::string(name) + (operands[0] ? std::string(" ") + operands : "");
    for (const OptionSpec& o : options)
        s += " [" + optionText(o) + "]";
    return s;
}

std::string CommandSpec::help() const
{
    std::string s = "tailor-cli " + std::string(name) + (operands[0] ? std::string(" ") + operands : "") + " [options]\n  " +
                    summary + "\n";
    std::size_t width = 0;
    for (const OptionSpec& o : options)
        width = std::max(width, optionText(o).size());
    for (const OptionSpec& o : options) {
        const std::string t = optionText(o);
        s += "    " + t + std::string(width - t.size() + 2, ' ') + o.help + "\n";
    }
    return s;
}

} // namespace tailor::cli
