#include "result_json.h"

#include <QJsonArray>
#include <cmath>

namespace tailor {

QJsonValue jsonNumber(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue();
}

QJsonObject toJson(const EvalResult& r)
{
    return QJsonObject{
        {"ppl", r.ppl},
        {"nll", r.nll},
        {"mean_nll", r.predicted_tokens ? r.nll / double(r.predicted_tokens) : 0.0},
        {"tokens", double(r.tokens)},
        {"predicted_tokens", double(r.predicted_tokens)},
        {"windows", double(r.windows)},
        {"seq_len", double(r.seq_len)},
        {"seconds", r.seconds},
        {"tokens_per_s", r.tokens_per_s},
    };
}

QJsonObject toJson(const ModelSummary& s, bool withTensors)
{
    QJsonObject o{
        {"dir", QString::fromStdString(s.dir)},
        {"model_type", QString::fromStdString(s.model_type)},
        {"blocks", double(s.n_layer)},
        {"hidden_size", double(s.hidden_size)},
        {"intermediate_size", double(s.intermediate_size)},
        {"experts", double(s.n_expert)},
        {"experts_per_token", double(s.n_expert_used)},
        {"expert_intermediate_size", double(s.expert_intermediate_size)},
        {"heads", double(s.n_head)},
        {"kv_heads", double(s.n_head_kv)},
        {"head_dim", double(s.head_dim)},
        {"vocab_size", double(s.vocab_size)},
        {"max_position_embeddings", double(s.max_position_embeddings)},
        {"rope_theta", s.rope_theta},
        {"rms_norm_eps", s.rms_norm_eps},
        {"tie_word_embeddings", s.tie_word_embeddings},
        {"dtype", QString::fromStdString(s.dtype)},
        {"parameters", double(s.parameters)},
        {"block_parameters", double(s.block_parameters)},
        {"file_bytes", double(s.file_bytes)},
    };
    if (withTensors) {
        QJsonArray ts;
        for (const auto& t : s.tensors) {
            QJsonArray shape;
            for (auto d : t.shape)
                shape.append(double(d));
            ts.append(QJsonObject{{"name", QString::fromStdString(t.name)},
                                  {"shape", shape},
                                  {"dtype", QString::fromStdString(t.dtype)},
                                  {"parameters", double(t.parameters)},
                                  {"block", t.block},
                                  {"kind", QString::fromStdString(t.kind)}});
        }
        o["tensors"] = ts;
    }
    return o;
}

} // namespace tailor
