#include "gguf_export.h"
#include "ggml_blocks.h"
#include "gguf_vocab.h"
#include "gguf_writer.h"
#include "core/arch_table.h"
#include "core/error.h"
#include "core/model.h"

#include <QFileInfo>
#include <cmath>

namespace tailor {

std::vector<int64_t> ropeRowPermutation(int64_t heads, int64_t hd, bool inverse)
{
    // convert_hf_to_gguf.py: w.reshape(heads, 2, hd/2, ...).swapaxes(1, 2): new row
    // (h, i, j) (i < hd/2, j < 2) takes old row (h, j, i)
    std::vector<int64_t> perm(std::size_t(heads * hd));
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < hd / 2; ++i)
            for (int64_t j = 0; j < 2; ++j) {
                const int64_t now = h * hd + i * 2 + j, old = h * hd + j * (hd / 2) + i;
                if (inverse)
                    perm[std::size_t(old)] = now;
                else
                    perm[std::size_t(now)] = old;
            }
    return perm;
}

GgufExportReport exportGguf(const Model& model, const std::vector<int>& dropBlocks, const std::string& outFile,
                            const GgufExportOptions& opt, const ProgressFn& progress)
{
    using namespace gguf;
    const ModelConfig& c = model.config();
    TensorType type;
    if (opt.type == "F32")
        type = TensorType::F32;
    else if (opt.type == "F16")
        type = TensorType::F16;
    else if (opt.type == "Q8_0")
        type = TensorType::Q8_0;
    else if (opt.type == "Q4_0")
        type = TensorType::Q4_0;
    else
        throw Error("GGUF tensor type '" + opt.type + "' is not one of f32, f16, q8_0, q4_0");
    const ArchFamily* family = archFamily(c.model_type);
    if (!family)
        throw Error("GGUF export: architecture '" + c.model_type + "' has no llama.cpp mapping here");
    const std::string arch = family->gguf_arch;
    const bool permuteQK = family->gguf_permute_qk;
    std::vector<int> kept;
    for (int i = 0; i < model.nBlocks(); ++i)
        if (std::find(dropBlocks.begin(), dropBlocks.end(), i) == dropBlocks.end())
            kept.push_back(i);
    if (kept.empty())
        throw Error("GGUF export: every block is dropped");
    const std::string dir = model.checkpoint().dir();
    const Vocab vocab = readVocab(dir, c.vocab_size, family->gguf_pre);

    Writer w;
    GgufExportReport report;
    w.addString("general.architecture", arch);
    w.addString("general.name", opt.name.empty() ? QFileInfo(QString::fromStdString(dir)).fileName().toStdString() : opt.name);
    w.addUInt32("general.alignment", kDefaultAlignment);
    w.addUInt32("general.file_type", type == TensorType::F32 ? 0 : type == TensorType::F16 ? 1 : type == TensorType::Q4_0 ? 2 : 7);
    w.addUInt32("general.quantization_version", 2);
    const std::string a = arch + ".";
    w.addUInt32(a + "vocab_size", uint32_t(c.vocab_size));
    w.addUInt32(a + "context_length", uint32_t(c.max_position_embeddings));
    w.addUInt32(a + "embedding_length", uint32_t(c.hidden_size));
    w.addUInt32(a + "block_count", uint32_t(kept.size()));
    w.addUInt32(a + "feed_forward_length", uint32_t(c.intermediate_size));
    w.addUInt32(a + "attention.head_count", uint32_t(c.n_head));
    w.addUInt32(a + "attention.head_count_kv", uint32_t(c.n_head_kv));
    w.addUInt32(a + "attention.key_length", uint32_t(c.head_dim));
    w.addUInt32(a + "attention.value_length", uint32_t(c.head_dim));
    w.addUInt32(a + "rope.dimension_count", uint32_t(c.head_dim));
    w.addFloat32(a + "rope.freq_base", float(c.rope_theta));
    w.addFloat32(a + "attention.layer_norm_rms_epsilon", float(c.rms_norm_eps));
    if (c.rope_scaling.type == "linear") {
        w.addString(a + "rope.scaling.type", "linear");
        w.addFloat32(a + "rope.scaling.factor", float(c.rope_scaling.factor));
    }
    w.addString("tokenizer.ggml.model", vocab.model);
    if (!vocab.pre.empty())
        w.addString("tokenizer.ggml.pre", vocab.pre);
    w.addStringArray("tokenizer.ggml.tokens", vocab.tokens);
    if (!vocab.scores.empty())
        w.addFloat32Array("tokenizer.ggml.scores", vocab.scores);
    w.addInt32Array("tokenizer.ggml.token_type", vocab.types);
    if (!vocab.merges.empty())
        w.addStringArray("tokenizer.ggml.merges", vocab.merges);
    const int64_t bos = vocab.bos >= 0 ? vocab.bos : c.bos_token_id, eos = vocab.eos >= 0 ? vocab.eos : c.eos_token_id;
    if (bos >= 0)
        w.addUInt32("tokenizer.ggml.bos_token_id", uint32_t(bos));
    if (eos >= 0)
        w.addUInt32("tokenizer.ggml.eos_token_id", uint32_t(eos));
    if (vocab.unk >= 0)
        w.addUInt32("tokenizer.ggml.unknown_token_id", uint32_t(vocab.unk));
    w.addBool("tokenizer.ggml.add_bos_token", vocab.add_bos);
    w.addBool("tokenizer.ggml.add_eos_token", vocab.add_eos);

    const Model* m = &model;
    auto add = [&](const std::string& gguf, const std::string& hf, TensorRole role) {
        const at::Tensor raw = m->raw(hf);
        const bool matrix = raw.dim() == 2;
        TensorType t = matrix ? type : TensorType::F32;
        if (matrix && (t == TensorType::Q8_0 || t == TensorType::Q4_0) && raw.size(1) % kBlock != 0) {
            report.warnings.push_back(hf + ": rows of " + std::to_string(raw.size(1)) + " are not a multiple of 32; written as F16");
            t = TensorType::F16;
        }
        std::vector<int64_t> ne(raw.sizes().rbegin(), raw.sizes().rend());
        const int64_t heads = role == TensorRole::AttnQ || role == TensorRole::AttnQBias ? c.n_head
                              : role == TensorRole::AttnK || role == TensorRole::AttnKBias ? c.n_head_kv : 0;
        w.addTensor(gguf, ne, t, [m, hf, t, heads, permuteQK, hd = c.head_dim] {
            at::Tensor x = m->raw(hf).to(at::kFloat);
            if (permuteQK && heads > 0) {
                const auto perm = ropeRowPermutation(heads, hd);
                x = x.index_select(0, at::tensor(perm, at::kLong));
            }
            return encodeRows(x.dim() == 1 ? x.unsqueeze(0) : x, t);
        });
        ++report.tensors;
        report.bytes += uint64_t(rowBytes(t, ne[0]) * (raw.numel() / ne[0]));
    };
    // names from the role table: GGUF name of the kept block j, HF name of its source block
    const auto addRole = [&](TensorRole role, int j = -1, int src = -1) {
        char name[128];
        std::snprintf(name, sizeof name, roleInfo(role).gguf, j);
        add(name, hfTensorName(role, src), role);
    };
    addRole(TensorRole::TokenEmbd);
    if (c.rope_scaling.type == "llama3") {
        // llama.cpp applies llama3 scaling through per-frequency factors
        std::vector<float> factors;
        const auto& s = c.rope_scaling;
        const double lowWave = s.original_max_position_embeddings / s.low_freq_factor,
                     highWave = s.original_max_position_embeddings / s.high_freq_factor;
        for (int64_t i = 0; i < c.head_dim; i += 2) {
            const double freq = 1.0 / std::pow(c.rope_theta, double(i) / double(c.head_dim)), wave = 2 * M_PI / freq;
            if (wave < highWave)
                factors.push_back(1.0f);
            else if (wave > lowWave)
                factors.push_back(float(s.factor));
            else {
                const double smooth = (s.original_max_position_embeddings / wave - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
                factors.push_back(float(1.0 / ((1 - smooth) / s.factor + smooth)));
            }
        }
        w.addTensor("rope_freqs.weight", {int64_t(factors.size())}, TensorType::F32, [factors] {
            return QByteArray(reinterpret_cast<const char*>(factors.data()), qsizetype(factors.size() * 4));
        });
        ++report.tensors;
    }
    for (std::size_t j = 0; j < kept.size(); ++j)
        for (TensorRole role : blockRoles(c))
            addRole(role, int(j), kept[j]);
    addRole(TensorRole::OutputNorm);
    if (!c.tie_word_embeddings)
        addRole(TensorRole::Output);
    w.write(outFile, opt.force, progress);
    return report;
}

} // namespace tailor
