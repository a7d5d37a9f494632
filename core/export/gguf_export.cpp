#include "gguf_export.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/formats/gguf/ggml_quants.h"
#include "core/formats/gguf/gguf_vocab.h"
#include "core/formats/gguf/gguf_writer.h"
#include "core/model/arch_table.h"
#include "core/util/error.h"
#include "core/model/model.h"
#include "core/model/llama_forward.h"
#include "core/analysis/imatrix.h"

#include <QFileInfo>
#include <map>
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

namespace {
// One tensor of the export: its GGUF name, the source it is read from, its shape.
struct Entry {
    std::string gguf, hf;
    TensorRole role;
    int src = -1;           // source block (-1 outside blocks)
    std::vector<int64_t> ne; // ggml order
    // a mixture's experts: the HF tensors stacked into this one ([n_expert, rows, cols])
    std::vector<std::string> stack;
};

// Expert x's part of a stacked tensor's importance weights (all of them when
// there is one matrix or none).
std::vector<float> expertSlice(const std::vector<float>& w, std::size_t x, std::size_t experts)
{
    if (w.empty() || experts <= 1)
        return w;
    const std::size_t cols = w.size() / experts;
    return std::vector<float>(w.begin() + std::ptrdiff_t(x * cols), w.begin() + std::ptrdiff_t((x + 1) * cols));
}

// The values an entry writes (fp32 or the stored dtype; stacked for experts).
at::Tensor valueOf(const Model& m, const Entry& e)
{
    if (e.stack.empty())
        return m.raw(e.hf);
    std::vector<at::Tensor> parts;
    for (const std::string& n : e.stack)
        parts.push_back(m.raw(n).to(at::kFloat));
    return at::stack(parts);
}

std::vector<int> keptBlocks(const Model& model, const std::vector<int>& dropBlocks)
{
    std::vector<int> kept;
    for (int i = 0; i < model.nBlocks(); ++i)
        if (std::find(dropBlocks.begin(), dropBlocks.end(), i) == dropBlocks.end())
            kept.push_back(i);
    if (kept.empty())
        throw Error("GGUF export: every block is dropped");
    return kept;
}

// The model's tensors in file order (rope_freqs is added separately).
std::vector<Entry> entriesOf(const Model& model, const std::vector<int>& kept)
{
    const ModelConfig& c = model.config();
    std::vector<Entry> out;
    auto add = [&](TensorRole role, int j, int src) {
        const std::string hf = hfTensorName(c, role, src);
        const at::Tensor raw = model.raw(hf); // held: sizes() points into it
        const at::IntArrayRef sizes = raw.sizes();
        out.push_back({ggufTensorName(role, j), hf, role, src, std::vector<int64_t>(sizes.rbegin(), sizes.rend()), {}});
    };
    add(TensorRole::TokenEmbd, -1, -1);
    for (std::size_t j = 0; j < kept.size(); ++j) {
        for (TensorRole role : blockRoles(c))
            add(role, int(j), kept[j]);
        // llama.cpp holds a block's experts as one 3-D tensor per matrix:
        // ne = {cols, rows, n_expert} (convert_hf_to_gguf.py stacks them)
        for (TensorRole role : c.isMoe() ? expertRoles() : std::vector<TensorRole>{}) {
            std::vector<std::string> names;
            for (int x = 0; x < int(c.n_expert); ++x)
                names.push_back(hfTensorName(c, role, kept[j], x));
            const at::Tensor one = model.raw(names.front());
            out.push_back({ggufTensorName(role, int(j)), names.front(), role, kept[j], {one.size(1), one.size(0), c.n_expert}, names});
        }
    }
    add(TensorRole::OutputNorm, -1, -1);
    if (!c.tie_word_embeddings)
        add(TensorRole::Output, -1, -1);
    return out;
}

const ArchFamily& familyOf(const ModelConfig& c)
{
    const ArchFamily* family = archFamily(c.model_type);
    if (!family)
        throw Error("GGUF export: architecture '" + c.model_type + "' has no llama.cpp mapping here");
    return *family;
}

std::vector<GgufTensorType> chooseFor(const Model& model, const std::vector<int>& kept, const std::vector<Entry>& entries,
                                      const GgufExportOptions& opt, std::vector<std::string>* warnings)
{
    const ModelConfig& c = model.config();
    const gguf::Mixture& mix = gguf::mixture(opt.type);
    gguf::MixtureModel mm{familyOf(c).gguf_arch, int64_t(kept.size()), c.n_head, c.n_head_kv, opt.imatrix != nullptr, c.n_expert};
    std::vector<gguf::TensorShape> shapes;
    for (const Entry& e : entries)
        shapes.push_back({e.gguf, e.ne});
    const auto choices = gguf::chooseTypes(mix, mm, shapes, opt.overrides, warnings);
    std::vector<GgufTensorType> out;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        GgufTensorType t{e.gguf, choices[i].type, choices[i].overridden, false};
        // llama.cpp looks the weights up under the source (unpruned) name
        t.imatrix = opt.imatrix && gguf::typeInfo(t.type).takesImatrix && e.src >= 0 &&
                    opt.imatrix->entries.count(ggufTensorName(e.role, e.src)) > 0;
        // llama-quantize's tensor_requires_imatrix: refused before anything is written
        if (gguf::typeInfo(t.type).requiresImatrix && !t.imatrix && e.role != TensorRole::TokenEmbd && e.role != TensorRole::Output)
            throw Error("GGUF export: " + e.gguf + " would be " + gguf::typeName(t.type) +
                        ", which llama.cpp will not write without an importance matrix for it (\"Missing importance matrix for tensor " +
                        e.gguf + " in a very low-bit quantization\": the result would be garbage); give one with --imatrix FILE "
                        "(tailor-cli imatrix makes it)");
        out.push_back(t);
    }
    return out;
}

void checkImatrix(const Model& model, const Imatrix& im)
{
    // every linear layer of the source model, under its own block number
    const ModelConfig& c = model.config();
    std::map<std::string, std::pair<int64_t, int64_t>> columns;
    for (int b = 0; b < model.nBlocks(); ++b) {
        for (const auto& [role, name] : blockTensorNames(c, b))
            if (roleInfo(role).isLinear || role == TensorRole::FfnGateInp)
                columns[ggufTensorName(role, b)] = {model.raw(name).size(1), 1};
        for (TensorRole role : c.isMoe() ? expertRoles() : std::vector<TensorRole>{}) // stacked: one slice per expert
            columns[ggufTensorName(role, b)] = {model.raw(hfTensorName(c, role, b, 0)).size(1), c.n_expert};
    }
    checkImatrixFits(im, columns);
}
} // namespace

std::shared_ptr<Model> ggufQuantizedModel(const Model& model, const std::vector<int>& dropBlocks, const GgufExportOptions& opt,
                                          std::vector<std::string>* warnings)
{
    if (opt.imatrix)
        checkImatrix(model, *opt.imatrix);
    const std::vector<int> kept = keptBlocks(model, dropBlocks);
    const std::vector<Entry> entries = entriesOf(model, kept);
    const std::vector<GgufTensorType> types = chooseFor(model, kept, entries, opt, warnings);
    std::shared_ptr<Model> out = model.derive();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        const gguf::TensorType type = types[i].type;
        if (type == gguf::TensorType::F32 && model.raw(e.hf).scalar_type() == at::kFloat)
            continue; // stored as it is
        std::vector<float> weights;
        if (types[i].imatrix)
            weights = opt.imatrix->weights(ggufTensorName(e.role, e.src));
        // rows are quantized independently, so llama.cpp's q/k row permutation
        // changes nothing here, and a stack of experts is its experts' rows
        const std::vector<std::string> parts = e.stack.empty() ? std::vector<std::string>{e.hf} : e.stack;
        for (std::size_t x = 0; x < parts.size(); ++x) {
            const std::vector<float> mine = expertSlice(weights, x, parts.size());
            out->replaceLazily(parts[x], [type, mine](const at::Tensor& w) {
                const at::Tensor v = w.dim() == 1 ? w.unsqueeze(0) : w;
                return gguf::roundTrip(v, type, mine).reshape(w.sizes());
            });
            out->setGgmlPacking(parts[x], {type, mine, model.raw(parts[x])});
        }
    }
    return out;
}

GgufExportReport exportGguf(const Model& model, const std::vector<int>& dropBlocks, const std::string& outFile,
                            const GgufExportOptions& opt, const ProgressFn& progress)
{
    using namespace gguf;
    const ModelConfig& c = model.config();
    const Mixture& mix = mixture(opt.type);
    const ArchFamily& family = familyOf(c);
    const std::vector<int> kept = keptBlocks(model, dropBlocks);
    // Blocks of different widths (non-uniform width pruning) are llama.cpp's
    // deci architecture: llama's graph and tensor layout with per-block head
    // counts and feed-forward lengths (arrays instead of numbers).
    const bool perBlock = !kept.empty() && c.firstWidthDifference(kept).second >= 0;
    if (perBlock && !*family.gguf_arch_per_block_widths)
        throw Error("GGUF export: the blocks have different widths after non-uniform width pruning; llama.cpp holds per-block widths "
                    "only for llama-family models (its deci architecture), not for '" + c.model_type + "': prune uniformly");
    const std::string arch = perBlock ? family.gguf_arch_per_block_widths : family.gguf_arch;
    const bool permuteQK = family.gguf_permute_qk;
    // llama.cpp's qwen3moe graph always renormalises the top k (build_moe_ffn's norm_w)
    if (c.isMoe() && !c.norm_topk_prob)
        throw Error("GGUF export: this " + c.model_type + " model has norm_topk_prob false, but llama.cpp's " + family.gguf_arch +
                    " graph always renormalises the chosen experts' weights; the file would compute another model");
    if (opt.imatrix)
        checkImatrix(model, *opt.imatrix);
    const std::string dir = model.checkpoint().dir();
    // (a model read from a GGUF passes its own vocabulary on)
    const Vocab vocab = model.checkpoint().ggufFile() ? readVocab(*model.checkpoint().ggufFile(), c.vocab_size)
                                                      : readVocab(dir, c.vocab_size, family.gguf_pre);

    Writer w;
    GgufExportReport report;
    w.addString("general.architecture", arch);
    w.addString("general.name", opt.name.empty() ? QFileInfo(QString::fromStdString(dir)).fileName().toStdString() : opt.name);
    w.addUInt32("general.alignment", kDefaultAlignment);
    w.addUInt32("general.file_type", mix.ftype);
    w.addUInt32("general.quantization_version", 2);
    const std::string a = arch + ".";
    w.addUInt32(a + "vocab_size", uint32_t(c.vocab_size));
    w.addUInt32(a + "context_length", uint32_t(c.max_position_embeddings));
    w.addUInt32(a + "embedding_length", uint32_t(c.hidden_size));
    w.addUInt32(a + "block_count", uint32_t(kept.size()));
    if (perBlock) {
        std::vector<int32_t> ff, heads, kv;
        for (int b : kept) {
            ff.push_back(int32_t(c.intermediate(b)));
            heads.push_back(int32_t(c.heads(b)));
            kv.push_back(int32_t(c.headsKv(b)));
        }
        w.addInt32Array(a + "feed_forward_length", ff);
        w.addInt32Array(a + "attention.head_count", heads);
        w.addInt32Array(a + "attention.head_count_kv", kv);
    } else {
        const int b = kept.empty() ? 0 : kept.front();
        w.addUInt32(a + "feed_forward_length", uint32_t(c.intermediate(b)));
        w.addUInt32(a + "attention.head_count", uint32_t(c.heads(b)));
        w.addUInt32(a + "attention.head_count_kv", uint32_t(c.headsKv(b)));
    }
    if (c.isMoe()) {
        w.addUInt32(a + "expert_count", uint32_t(c.n_expert));
        w.addUInt32(a + "expert_used_count", uint32_t(c.n_expert_used));
        if (c.model_type != "mixtral") // llama's graph takes the expert width from the tensors
            w.addUInt32(a + "expert_feed_forward_length", uint32_t(c.expert_intermediate_size));
    }
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

    const std::vector<Entry> entries = entriesOf(model, kept);
    const std::vector<GgufTensorType> types = chooseFor(model, kept, entries, opt, &report.warnings);
    const Model* m = &model;
    auto addEntry = [&](const Entry& e, const GgufTensorType& t) {
        // heads of this block's q or k (blocks may differ): its rows over head_dim
        const bool qk = e.role == TensorRole::AttnQ || e.role == TensorRole::AttnQBias || e.role == TensorRole::AttnK ||
                        e.role == TensorRole::AttnKBias;
        const int64_t heads = qk ? (e.ne.size() == 1 ? e.ne[0] : e.ne[1]) / c.head_dim : 0;
        std::vector<float> weights;
        if (t.imatrix)
            weights = opt.imatrix->weights(ggufTensorName(e.role, e.src));
        w.addTensor(e.gguf, e.ne, t.type, [m, e, type = t.type, heads, permuteQK, hd = c.head_dim, weights] {
            at::Tensor x = valueOf(*m, e).to(at::kFloat);
            if (x.dim() == 3) { // experts one after another, each with its own importance slice
                QByteArray out;
                for (int64_t k = 0; k < x.size(0); ++k)
                    out += encodeRows(x[k], type, expertSlice(weights, std::size_t(k), std::size_t(x.size(0))));
                return out;
            }
            if (permuteQK && heads > 0) {
                const auto perm = ropeRowPermutation(heads, hd);
                x = x.index_select(0, at::tensor(perm, at::kLong));
            }
            return encodeRows(x.dim() == 1 ? x.unsqueeze(0) : x, type, weights);
        });
        ++report.tensors;
        int64_t elements = 1;
        for (int64_t n : e.ne)
            elements *= n;
        report.bytes += uint64_t(rowBytes(t.type, e.ne[0]) * (elements / e.ne[0]));
        report.types.push_back(t);
    };
    addEntry(entries[0], types[0]); // token_embd
    if (c.rope_scaling.type == "llama3" || c.rope_scaling.type == "freq_factors") {
        // llama.cpp applies llama3 scaling through per-frequency factors
        std::vector<float> factors = c.rope_scaling.freq_factors;
        // (in double from the theta, as convert_hf_to_gguf.py computes them)
        for (int64_t i = 0; c.rope_scaling.freq_factors.empty() && i < c.head_dim; i += 2) {
            const double freq = 1.0 / std::pow(c.rope_theta, double(i) / double(c.head_dim));
            factors.push_back(float(llama3RopeDivisor(c.rope_scaling, 2 * M_PI / freq)));
        }
        w.addTensor("rope_freqs.weight", {int64_t(factors.size())}, TensorType::F32, [factors] {
            return QByteArray(reinterpret_cast<const char*>(factors.data()), qsizetype(factors.size() * 4));
        });
        ++report.tensors;
        report.types.push_back(GgufTensorType{"rope_freqs.weight", TensorType::F32});
    }
    for (std::size_t i = 1; i < entries.size(); ++i)
        addEntry(entries[i], types[i]);
    report.file_bytes = w.fileSize();
    if (!outFile.empty())
        w.write(outFile, opt.force, progress);
    return report;
}

uint64_t ggufFileSize(const Model& model, const std::vector<int>& dropBlocks, const GgufExportOptions& opt,
                      std::vector<std::string>* warnings)
{
    const GgufExportReport r = exportGguf(model, dropBlocks, std::string(), opt);
    if (warnings)
        warnings->insert(warnings->end(), r.warnings.begin(), r.warnings.end());
    return r.file_bytes;
}

} // namespace tailor
