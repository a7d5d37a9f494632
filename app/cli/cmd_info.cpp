// tailor-cli info MODEL_DIR|FILE.gguf [--json]
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/model/model_session.h"
#include "core/eval/result_json.h"

#include <QFileInfo>
#include <QJsonArray>
#include <cstdio>

namespace tailor::cli {

namespace {
// A GGUF file for inspection: metadata (arrays summarised by type and length
// in text, given whole in JSON) and the tensor table.
int ggufInfo(const std::string& path, bool json)
{
    const auto f = gguf::File::open(path);
    if (json) {
        QJsonObject meta;
        for (const auto& kv : f->metadata())
            meta[QString::fromStdString(kv.key)] = QJsonValue::fromVariant(kv.value);
        QJsonArray tensors;
        for (const auto& t : f->tensors()) {
            QJsonArray ne;
            for (int64_t d : t.ne)
                ne.append(double(d));
            tensors.append(QJsonObject{{"name", QString::fromStdString(t.name)}, {"ne", ne},
                                       {"type", QString::fromStdString(gguf::typeName(t.type))}, {"bytes", double(t.bytes)}});
        }
        printJson(QJsonObject{{"format", "gguf"}, {"version", double(f->version())}, {"metadata", meta}, {"tensors", tensors}});
        return 0;
    }
    std::printf("GGUF v%u, %zu metadata entries, %zu tensors, alignment %u\n\n", f->version(), f->metadata().size(),
                f->tensors().size(), f->alignment());
    for (const auto& kv : f->metadata()) {
        if (kv.type == gguf::ValueType::Array)
            std::printf("%-44s [%lld values]\n", kv.key.c_str(), (long long)kv.value.toList().size());
        else
            std::printf("%-44s %s\n", kv.key.c_str(), kv.value.toString().toStdString().c_str());
    }
    std::printf("\n%-36s %-22s %-6s %12s\n", "tensor", "ne", "type", "bytes");
    for (const auto& t : f->tensors()) {
        std::string ne;
        for (std::size_t i = 0; i < t.ne.size(); ++i)
            ne += (i ? "x" : "") + std::to_string(t.ne[i]);
        std::printf("%-36s %-22s %-6s %12lld\n", t.name.c_str(), ne.c_str(), gguf::typeName(t.type).c_str(), (long long)t.bytes);
    }
    return 0;
}
} // namespace

int cmdInfo(const Argv& argv)
{
    const Args args(argv, commandSpec("info"));
    const std::string path = args.positional(0, "MODEL");
    if (QFileInfo(QString::fromStdString(path)).isFile())
        return ggufInfo(path, args.flag("json"));
    const auto session = ModelSession::open(path);
    const ModelSummary& s = session->summary();
    if (args.flag("json")) {
        printJson(toJson(s));
        return 0;
    }
    std::printf("model        %s\n", s.dir.c_str());
    std::printf("architecture %s, %lld blocks, hidden %lld, intermediate %lld\n", s.model_type.c_str(),
                (long long)s.n_layer, (long long)s.hidden_size, (long long)s.intermediate_size);
    if (s.n_expert > 0)
        std::printf("experts      %lld a block, %lld a token (top-k), %lld channels each\n", (long long)s.n_expert,
                    (long long)s.n_expert_used, (long long)s.expert_intermediate_size);
    std::printf("attention    %lld heads, %lld KV heads, head_dim %lld, rope_theta %g\n", (long long)s.n_head,
                (long long)s.n_head_kv, (long long)s.head_dim, s.rope_theta);
    std::printf("vocabulary   %lld%s, context %lld\n", (long long)s.vocab_size,
                s.tie_word_embeddings ? " (tied embeddings)" : "", (long long)s.max_position_embeddings);
    std::printf("parameters   %lld (%.2f M), %lld per block, dtype %s, %.1f MB on disk\n\n", (long long)s.parameters,
                double(s.parameters) / 1e6, (long long)s.block_parameters, s.dtype.c_str(), double(s.file_bytes) / 1e6);
    std::printf("%-52s %-14s %-5s %12s\n", "tensor", "shape", "dtype", "parameters");
    for (const auto& t : s.tensors) {
        std::string shape;
        for (std::size_t i = 0; i < t.shape.size(); ++i)
            shape += (i ? "x" : "") + std::to_string(t.shape[i]);
        std::printf("%-52s %-14s %-5s %12lld\n", t.name.c_str(), shape.c_str(), t.dtype.c_str(), (long long)t.parameters);
    }
    return 0;
}

} // namespace tailor::cli
