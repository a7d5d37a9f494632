// Checkpoint::openGguf: a GGUF file read as a checkpoint. The metadata becomes
// a ModelConfig as llama.cpp's loader reads it (llama-model.cpp's
// load_hparams for the llama, deci, qwen2 and qwen3 architectures); every
// tensor is found under its HF name through the architecture table, checked
// against the shape the metadata implies, and kept mapped: float tensors as
// they are, block-quantized ones as their blocks (Model widens them on use,
// block by block, and the decoder multiplies the blocks themselves).
#include "checkpoint.h"
#include "arch_table.h"
#include "core/formats/gguf/gguf_metadata.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/util/error.h"

#include <QFileInfo>

#include <cstring>

namespace tailor {

std::vector<int64_t> ropeRowPermutation(int64_t heads, int64_t hd, bool inverse); // gguf_export.cpp

namespace {

const ArchFamily& familyOfGguf(const gguf::Metadata& md, const std::string& arch, bool* perBlock)
{
    for (const ArchFamily& f : archFamilies()) {
        if (arch == f.gguf_arch) {
            *perBlock = false;
            return f;
        }
        if (*f.gguf_arch_per_block_widths && arch == f.gguf_arch_per_block_widths) {
            *perBlock = true;
            return f;
        }
    }
    std::string known;
    for (const ArchFamily& f : archFamilies()) {
        for (const char* a : {f.gguf_arch, f.gguf_arch_per_block_widths})
            if (*a && known.find(std::string(a) + ",") == std::string::npos && known.find(std::string(a)) == std::string::npos)
                known += std::string(known.empty() ? "" : ", ") + a;
    }
    throw Error(md.where("general.architecture") + ": architecture '" + arch + "' is not supported (Tailor reads " + known + ")");
}

ModelConfig configOf(const gguf::File& f, const gguf::Metadata& md)
{
    ModelConfig c;
    const std::string arch = md.requireString("general.architecture");
    bool perBlock = false;
    const ArchFamily& family = familyOfGguf(md, arch, &perBlock);
    const std::string a = arch + ".";
    c.model_type = family.model_type;
    c.n_layer = md.requireInteger(a + "block_count");
    c.hidden_size = md.requireInteger(a + "embedding_length");
    auto positive = [&](const std::string& key, int64_t v, int64_t most) {
        if (v < 1 || v > most)
            throw Error(md.where(key) + ": " + std::to_string(v) + " is out of range (1 .. " + std::to_string(most) + ")");
    };
    positive(a + "block_count", c.n_layer, 4096);
    positive(a + "embedding_length", c.hidden_size, int64_t(1) << 20);
    if (!md.has(a + "feed_forward_length"))
        throw Error(md.where(a + "feed_forward_length") + ": missing");
    if (!md.has(a + "attention.head_count"))
        throw Error(md.where(a + "attention.head_count") + ": missing");
    const std::vector<int64_t> ff = md.perBlock(a + "feed_forward_length", c.n_layer);
    const std::vector<int64_t> heads = md.perBlock(a + "attention.head_count", c.n_layer);
    std::vector<int64_t> kv = md.perBlock(a + "attention.head_count_kv", c.n_layer);
    if (kv.empty())
        kv = heads;
    for (int64_t b = 0; b < c.n_layer; ++b) {
        const std::size_t i = std::size_t(b);
        positive(a + "feed_forward_length", ff[i], int64_t(1) << 22);
        positive(a + "attention.head_count", heads[i], 65536);
        positive(a + "attention.head_count_kv", kv[i], heads[i]);
        if (heads[i] % kv[i] != 0 || heads[i] / kv[i] != heads[0] / kv[0])
            throw Error(md.where(a + "attention.head_count") + ": block " + std::to_string(b) + " has " + std::to_string(heads[i]) +
                        " query heads for " + std::to_string(kv[i]) + " key/value heads (Tailor needs the same whole ratio in every block)");
    }
    const std::size_t widest = std::size_t(std::max_element(kv.begin(), kv.end()) - kv.begin());
    c.n_head_kv = kv[widest];
    c.n_head = heads[widest];
    c.intermediate_size = *std::max_element(ff.begin(), ff.end());
    const bool uniform = std::equal(kv.begin() + 1, kv.end(), kv.begin()) && std::equal(ff.begin() + 1, ff.end(), ff.begin());
    if (!uniform) {
        c.block_n_head_kv = kv;
        c.block_intermediate_size = ff;
    }
    c.head_dim = md.integer(a + "attention.key_length").value_or(c.hidden_size / heads[0]);
    positive(a + "attention.key_length", c.head_dim, 4096);
    if (md.integer(a + "attention.value_length").value_or(c.head_dim) != c.head_dim)
        throw Error(md.where(a + "attention.value_length") + ": differs from attention.key_length (Tailor needs equal lengths)");
    if (md.integer(a + "rope.dimension_count").value_or(c.head_dim) != c.head_dim)
        throw Error(md.where(a + "rope.dimension_count") + ": partial rotary embeddings are not supported (must equal the head length " +
                    std::to_string(c.head_dim) + ")");
    c.max_position_embeddings = md.integer(a + "context_length").value_or(2048);
    c.rope_theta = md.number(a + "rope.freq_base").value_or(10000.0);
    c.rms_norm_eps = md.number(a + "attention.layer_norm_rms_epsilon").value_or(1e-5);
    if (const auto type = md.string(a + "rope.scaling.type"); type && *type != "none") {
        if (*type != "linear")
            throw Error(md.where(a + "rope.scaling.type") + ": '" + *type + "' is not supported (none or linear)");
        c.rope_scaling.type = "linear";
        c.rope_scaling.factor = md.number(a + "rope.scaling.factor").value_or(1.0);
    }
    const gguf::TensorInfo* embd = f.tensor("token_embd.weight");
    if (!embd || embd->ne.size() != 2)
        throw Error(f.path() + ": tensor 'token_embd.weight' is missing or not a matrix");
    c.vocab_size = md.integer(a + "vocab_size").value_or(embd->ne[1]);
    c.tie_word_embeddings = f.tensor("output.weight") == nullptr;
    c.attention_bias = family.qkv_bias || f.tensor("blk.0.attn_q.bias") != nullptr;
    c.qk_norm = family.qk_norm;
    c.bos_token_id = md.integer("tokenizer.ggml.bos_token_id").value_or(-1);
    c.eos_token_id = md.integer("tokenizer.ggml.eos_token_id").value_or(-1);
    c.torch_dtype = "float32";
    if (const gguf::TensorInfo* r = f.tensor("rope_freqs.weight")) {
        // llama3 scaling as llama.cpp holds it: a divisor per rotary frequency
        if (r->ne.size() != 1 || r->ne[0] != c.head_dim / 2 || r->type != gguf::TensorType::F32)
            throw Error(f.path() + ": tensor 'rope_freqs.weight' must be F32 [" + std::to_string(c.head_dim / 2) + "]");
        const float* v = reinterpret_cast<const float*>(f.data(*r));
        c.rope_scaling.type = "freq_factors";
        c.rope_scaling.freq_factors.assign(v, v + r->ne[0]);
    }
    return c;
}

// What the metadata says about a tensor's shape, for errors.
std::string shapeKeys(const std::string& arch)
{
    return arch + ".embedding_length, feed_forward_length, attention.head_count(_kv), attention.key_length and the vocabulary";
}

} // namespace

bool Checkpoint::isGgufPath(const std::string& path)
{
    const QFileInfo info(QString::fromStdString(path));
    return !info.isDir() && info.suffix().compare("gguf", Qt::CaseInsensitive) == 0;
}

std::shared_ptr<Checkpoint> Checkpoint::openAny(const std::string& path)
{
    return isGgufPath(path) ? openGguf(path) : open(path);
}

std::shared_ptr<Checkpoint> Checkpoint::openGguf(const std::string& path)
{
    if (!QFileInfo::exists(QString::fromStdString(path)))
        throw Error(path + ": no such file");
    auto ck = std::make_shared<Checkpoint>();
    ck->dir_ = path;
    ck->gguf_ = gguf::File::open(path);
    ck->ggufSize_ = uint64_t(QFileInfo(QString::fromStdString(path)).size());
    const gguf::File& f = *ck->gguf_;
    const gguf::Metadata md(f);
    ck->config_ = configOf(f, md);
    const ModelConfig& c = ck->config_;
    const std::string arch = md.requireString("general.architecture");
    const ArchFamily& family = *archFamily(c.model_type);

    std::vector<std::pair<TensorRole, int>> wanted;
    for (TensorRole role : globalRoles(c))
        wanted.emplace_back(role, -1);
    for (int b = 0; b < c.n_layer; ++b)
        for (TensorRole role : blockRoles(c))
            wanted.emplace_back(role, b);
    std::shared_ptr<const void> file = ck->gguf_;
    for (const auto& [role, b] : wanted) {
        const std::string name = ggufTensorName(role, b), hf = hfTensorName(role, b);
        const gguf::TensorInfo* t = f.tensor(name);
        if (!t)
            throw Error(path + ": tensor '" + name + "' is missing (needed by a " + arch + " model with " + std::to_string(c.n_layer) +
                        " blocks)");
        const std::vector<int64_t> shape(t->ne.rbegin(), t->ne.rend()), want = expectedShape(c, role, b);
        if (shape != want)
            throw Error(path + ": tensor '" + name + "' has shape " + shapeString(shape) + " (HF order), but the metadata (" +
                        shapeKeys(arch) + ") implies " + shapeString(want));
        TensorInfo info;
        info.name = hf;
        info.shape = shape;
        info.bytes = uint64_t(t->bytes);
        info.offset = uint64_t(f.data(*t) - f.data(f.tensors().front())); // for messages only
        info.data = f.data(*t);
        CheckpointTensor ct;
        ct.keep = file;
        switch (t->type) {
        case gguf::TensorType::F32: info.dtype = DType::F32; break;
        case gguf::TensorType::F16: info.dtype = DType::F16; break;
        case gguf::TensorType::BF16: info.dtype = DType::BF16; break;
        default: info.dtype = DType::F32; ct.ggml = t->type;
        }
        // llama.cpp's converter reorders q and k rows for its RoPE layout:
        // put them back (whole rows, so quantized blocks move unchanged)
        const bool qk = role == TensorRole::AttnQ || role == TensorRole::AttnK || role == TensorRole::AttnQBias ||
                        role == TensorRole::AttnKBias;
        if (family.gguf_permute_qk && qk) {
            const int64_t rows = shape.size() == 1 ? 1 : shape[0], rowBytes = t->bytes / rows;
            const int64_t units = shape.size() == 1 ? shape[0] : rows; // a bias permutes its elements
            const int64_t unitBytes = shape.size() == 1 ? t->bytes / units : rowBytes;
            const std::vector<int64_t> inv = ropeRowPermutation(units / c.head_dim, c.head_dim, true);
            auto copy = std::shared_ptr<uint8_t[]>(new uint8_t[std::size_t(t->bytes)]);
            const uint8_t* src = f.data(*t);
            for (int64_t old = 0; old < units; ++old)
                std::memcpy(copy.get() + old * unitBytes, src + inv[std::size_t(old)] * unitBytes, std::size_t(unitBytes));
            info.data = copy.get();
            ct.keep = std::shared_ptr<const void>(copy, copy.get());
        }
        ck->ggufInfos_.push_back(std::move(info));
        ct.info = &ck->ggufInfos_.back();
        ck->tensors_[hf] = ct;
    }
    ck->validateArchitecture();
    return ck;
}

} // namespace tailor
