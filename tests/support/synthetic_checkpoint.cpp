#include "tests/support/synthetic_checkpoint.h"
#include "core/model/arch_table.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/formats/safetensors_writer.h"

#include <ATen/ATen.h>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tailor {

SyntheticShape SyntheticShape::tinyLlama1B()
{
    return {"tinyllama-1.1b-shape", 2048, 5632, 22, 32, 4, 32000, false};
}

SyntheticShape SyntheticShape::llama2_7B()
{
    return {"llama-2-7b-shape", 4096, 11008, 32, 32, 32, 32000, false};
}

namespace {

void writeJson(const QString& path, const QJsonObject& o)
{
    writeFileAtomically(path.toStdString(), QJsonDocument(o).toJson());
}

} // namespace

void writeSyntheticCheckpoint(const std::string& dirPath, const SyntheticShape& s, const std::string& dtype,
                              const std::string& tokenizerDir, uint64_t shardBytes, uint64_t seed, const ProgressFn& progress)
{
    const at::ScalarType st = dtype == "BF16" ? at::kBFloat16 : dtype == "F16" ? at::kHalf : at::kFloat;
    const DType dt = dtype == "BF16" ? DType::BF16 : dtype == "F16" ? DType::F16 : DType::F32;
    QDir dir(QString::fromStdString(dirPath));
    if (!dir.mkpath("."))
        throw Error(dirPath + ": cannot create the directory");
    ModelConfig c;
    c.model_type = "llama";
    c.hidden_size = s.hidden;
    c.intermediate_size = s.intermediate;
    c.n_layer = s.n_layer;
    c.n_head = s.n_head;
    c.n_head_kv = s.n_head_kv;
    c.head_dim = s.hidden / s.n_head;
    c.vocab_size = s.vocab;
    c.tie_word_embeddings = s.tied;
    writeJson(dir.filePath("config.json"),
              QJsonObject{{"architectures", QJsonArray{"LlamaForCausalLM"}}, {"model_type", "llama"},
                          {"hidden_size", double(s.hidden)}, {"intermediate_size", double(s.intermediate)},
                          {"num_hidden_layers", double(s.n_layer)}, {"num_attention_heads", double(s.n_head)},
                          {"num_key_value_heads", double(s.n_head_kv)}, {"vocab_size", double(s.vocab)},
                          {"max_position_embeddings", 4096}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
                          {"tie_word_embeddings", s.tied}, {"bos_token_id", 1}, {"eos_token_id", 2},
                          {"hidden_act", "silu"}, {"torch_dtype", dtype == "BF16" ? "bfloat16" : dtype == "F16" ? "float16" : "float32"}});
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
        const QString src = QDir(QString::fromStdString(tokenizerDir)).filePath(f);
        QFile::remove(dir.filePath(f));
        if (QFile::exists(src) && !QFile::copy(src, dir.filePath(f)))
            throw Error(dirPath + ": cannot copy " + f);
    }

    // Tensor list in HF order: embeddings, blocks, norm, head.
    std::vector<std::pair<std::string, TensorRole>> names;
    names.push_back({hfTensorName(TensorRole::TokenEmbd), TensorRole::TokenEmbd});
    for (int b = 0; b < s.n_layer; ++b)
        for (auto r : blockRoles(c))
            names.push_back({hfTensorName(r, b), r});
    names.push_back({hfTensorName(TensorRole::OutputNorm), TensorRole::OutputNorm});
    if (!s.tied)
        names.push_back({hfTensorName(TensorRole::Output), TensorRole::Output});

    at::manual_seed(seed);
    std::vector<std::vector<std::pair<std::string, at::Tensor>>> shards(1);
    uint64_t current = 0;
    QJsonObject weightMap;
    std::vector<QString> shardFiles;
    auto flush = [&](int index, int total) {
        const QString file = QString("model-%1-of-%2.safetensors").arg(index + 1, 5, 10, QChar('0')).arg(total, 5, 10, QChar('0'));
        std::vector<TensorToWrite> tw;
        for (auto& [n, t] : shards[std::size_t(index)]) {
            tw.push_back({n, dt, t.sizes().vec(), t.data_ptr(), uint64_t(t.numel()) * uint64_t(t.element_size())});
            weightMap[QString::fromStdString(n)] = file;
        }
        writeSafetensors(dir.filePath(file).toStdString(), tw, {{"format", "pt"}});
        shards[std::size_t(index)].clear();
    };
    // First pass: assign tensors to shards by size (so the total is known for the names).
    std::vector<int> shardOf;
    int nShards = 1;
    for (auto& [n, role] : names) {
        const auto shape = expectedShape(c, role);
        uint64_t bytes = dtypeSize(dt);
        for (auto d : shape)
            bytes *= uint64_t(d);
        if (current > 0 && current + bytes > shardBytes) {
            ++nShards;
            current = 0;
        }
        current += bytes;
        shardOf.push_back(nShards - 1);
    }
    shards.resize(std::size_t(nShards));
    int open = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (shardOf[i] != open) {
            flush(open, nShards);
            open = shardOf[i];
        }
        const auto shape = expectedShape(c, names[i].second);
        const bool isNorm = shape.size() == 1;
        at::Tensor t = isNorm ? at::ones(shape, at::kFloat) : at::randn(shape, at::kFloat) * 0.02;
        shards[std::size_t(open)].push_back({names[i].first, t.to(st).contiguous()});
        reportProgress(progress, double(i + 1) / double(names.size()), "writing " + names[i].first);
    }
    flush(open, nShards);
    writeJson(dir.filePath("model.safetensors.index.json"),
              QJsonObject{{"metadata", QJsonObject{{"total_size", double(c.totalParameters()) * double(dtypeSize(dt))}}},
                          {"weight_map", weightMap}});
}

} // namespace tailor
