#include "model_config.h"
#include "arch_table.h"
#include "core/util/error.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tailor {

double llama3RopeDivisor(const RopeScaling& s, double wavelength)
{
    const double lowWave = double(s.original_max_position_embeddings) / s.low_freq_factor;
    const double highWave = double(s.original_max_position_embeddings) / s.high_freq_factor;
    if (wavelength < highWave)
        return 1.0;
    if (wavelength > lowWave)
        return s.factor;
    const double smooth = (double(s.original_max_position_embeddings) / wavelength - s.low_freq_factor) /
                          (s.high_freq_factor - s.low_freq_factor);
    return 1.0 / ((1 - smooth) / s.factor + smooth);
}

namespace {

constexpr double kMaxSize = 2147483647.0; // 2^31 - 1

std::string number(double v)
{
    return QString::number(v, 'g', 6).toStdString();
}

// Reads config keys with type checks; every message names the file and key.
class ConfigReader {
public:
    ConfigReader(QJsonObject o, std::string file) : o_(std::move(o)), file_(std::move(file)) {}

    int64_t requiredInt(const char* key) const
    {
        if (!o_.contains(key))
            fail(key, "is missing");
        return toInt(key, o_.value(key));
    }
    int64_t optionalInt(const char* key, int64_t def) const
    {
        const QJsonValue v = o_.value(key);
        if (v.isUndefined() || v.isNull())
            return def;
        // eos_token_id may be a list (Llama 3): the first one is the canonical id.
        if (v.isArray() && !v.toArray().isEmpty())
            return toInt(key, v.toArray().first());
        return toInt(key, v);
    }
    double optionalDouble(const char* key, double def) const
    {
        const QJsonValue v = o_.value(key);
        if (v.isUndefined() || v.isNull())
            return def;
        if (!v.isDouble())
            fail(key, "must be a number");
        return v.toDouble();
    }
    bool optionalBool(const char* key, bool def) const
    {
        const QJsonValue v = o_.value(key);
        if (v.isUndefined() || v.isNull())
            return def;
        if (!v.isBool())
            fail(key, "must be true or false");
        return v.toBool();
    }
    std::string optionalString(const char* key) const
    {
        const QJsonValue v = o_.value(key);
        if (v.isUndefined() || v.isNull())
            return {};
        if (!v.isString())
            fail(key, "must be a string");
        return v.toString().toStdString();
    }
    bool has(const char* key) const { return o_.contains(key) && !o_.value(key).isNull(); }
    QJsonArray array(const char* key) const
    {
        const QJsonValue v = o_.value(key);
        if (v.isUndefined() || v.isNull())
            return {};
        if (!v.isArray())
            fail(key, "must be a list");
        return v.toArray();
    }
    QJsonObject object(const char* key) const
    {
        const QJsonValue v = o_.value(key);
        if (v.isUndefined() || v.isNull())
            return {};
        if (!v.isObject())
            fail(key, "must be an object");
        return v.toObject();
    }
    void requireRange(const char* key, double v, double lo, double hi) const
    {
        if (!(v >= lo && v <= hi)) // also refuses NaN
            fail(key, "is " + number(v) + ", outside the range " + number(lo) + " .. " + number(hi) +
                          " a working model needs");
    }
    [[noreturn]] void fail(const char* key, const std::string& what) const
    {
        throw Error(file_ + ": key '" + key + "' " + what);
    }

private:
    int64_t toInt(const char* key, const QJsonValue& v) const
    {
        if (!v.isDouble() || v.toDouble() != double(int64_t(v.toDouble())))
            fail(key, "must be an integer");
        return int64_t(v.toDouble());
    }
    QJsonObject o_;
    std::string file_;
};

// The experts of a mixture-of-experts family (its row names the keys).
void readExperts(const ConfigReader& r, const ArchFamily& f, ModelConfig& c)
{
    c.n_expert = r.requiredInt(f.moe_expert_count_key);
    r.requireRange(f.moe_expert_count_key, double(c.n_expert), 1, 65536);
    c.n_expert_used = r.requiredInt("num_experts_per_tok");
    if (c.n_expert_used < 1 || c.n_expert_used > c.n_expert)
        r.fail("num_experts_per_tok", "is " + std::to_string(c.n_expert_used) + ", but a token can use 1 to " +
                                           std::string(f.moe_expert_count_key) + " = " + std::to_string(c.n_expert) + " experts");
    c.expert_intermediate_size = r.requiredInt(f.moe_ffn_key);
    r.requireRange(f.moe_ffn_key, double(c.expert_intermediate_size), 1, kMaxSize);
    c.norm_topk_prob = f.moe_norm_topk_always || r.optionalBool("norm_topk_prob", false);
    // Dense blocks between sparse ones (Qwen2/3-MoE's decoder_sparse_step and
    // mlp_only_layers) exist in configs but in no released Qwen3-MoE, and
    // llama.cpp's qwen3moe graph has none: refuse them by name.
    if (r.optionalInt("decoder_sparse_step", 1) != 1)
        r.fail("decoder_sparse_step", "is not 1: Tailor (like llama.cpp) runs mixtures whose every block is sparse");
    if (!r.array("mlp_only_layers").isEmpty())
        r.fail("mlp_only_layers", "lists dense blocks: Tailor (like llama.cpp) runs mixtures whose every block is sparse");
    if (r.optionalInt("shared_expert_intermediate_size", 0) > 0)
        r.fail("shared_expert_intermediate_size", "asks for a shared expert, which Tailor does not run yet");
}

} // namespace

ModelConfig ModelConfig::fromFile(const std::string& path)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        throw Error(path + ": cannot open: " + f.errorString().toStdString());
    return fromJson(f.readAll().toStdString(), path);
}

ModelConfig ModelConfig::fromJson(const std::string& json, const std::string& file)
{
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &err);
    if (err.error != QJsonParseError::NoError)
        throw Error(file + ": not valid JSON at byte " + std::to_string(err.offset) + ": " +
                    err.errorString().toStdString());
    if (!doc.isObject())
        throw Error(file + ": not a JSON object");
    const ConfigReader r(doc.object(), file);
    ModelConfig c;
    c.model_type = r.optionalString("model_type");
    const ArchFamily* family = archFamily(c.model_type);
    if (!family)
        throw Error(file + ": model_type '" + c.model_type + "' is not supported (Tailor runs " + supportedModelTypes() +
                    " checkpoints)");
    c.vocab_size = r.requiredInt("vocab_size");
    c.hidden_size = r.requiredInt("hidden_size");
    c.intermediate_size = family->moe && !r.has("intermediate_size") ? 0 : r.requiredInt("intermediate_size");
    c.n_layer = r.requiredInt("num_hidden_layers");
    c.n_head = r.requiredInt("num_attention_heads");
    c.n_head_kv = r.optionalInt("num_key_value_heads", c.n_head);
    // Upper bounds keep products of sizes inside int64 and name the key
    // instead of failing later in an allocation.
    r.requireRange("vocab_size", double(c.vocab_size), 1, kMaxSize);
    r.requireRange("hidden_size", double(c.hidden_size), 1, kMaxSize);
    r.requireRange("intermediate_size", double(c.intermediate_size), family->moe ? 0 : 1, kMaxSize);
    r.requireRange("num_hidden_layers", double(c.n_layer), 1, 100000);
    r.requireRange("num_attention_heads", double(c.n_head), 1, 100000);
    r.requireRange("num_key_value_heads", double(c.n_head_kv), 1, 100000);
    if (c.n_head % c.n_head_kv != 0)
        r.fail("num_key_value_heads", "must divide num_attention_heads (" +
                                          std::to_string(c.n_head) + ")");
    const int64_t defaultHeadDim = c.hidden_size / c.n_head;
    c.head_dim = r.optionalInt("head_dim", defaultHeadDim);
    if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > 100000)
        r.fail("head_dim", "must be a positive even number (at most 100000)");
    if (!doc.object().contains("head_dim") && c.hidden_size % c.n_head != 0)
        r.fail("hidden_size", "must be divisible by num_attention_heads");
    c.max_position_embeddings = r.optionalInt("max_position_embeddings", 2048);
    r.requireRange("max_position_embeddings", double(c.max_position_embeddings), 1, kMaxSize);
    // A non-positive epsilon divides by zero on an all-zero row; one near 1
    // is no RMSNorm any more. Real checkpoints use 1e-6 .. 1e-5.
    c.rms_norm_eps = r.optionalDouble("rms_norm_eps", 1e-6);
    r.requireRange("rms_norm_eps", c.rms_norm_eps, 1e-12, 0.1);
    // RoPE frequencies are theta^(-2i/d): theta <= 1 makes them grow with i
    // (or NaN); real values are 1e4 .. 1e7.
    c.rope_theta = r.optionalDouble("rope_theta", 10000.0);
    r.requireRange("rope_theta", c.rope_theta, 1.0 + 1e-9, 1e12);
    c.tie_word_embeddings = r.optionalBool("tie_word_embeddings", false);
    c.attention_bias = family->qkv_bias || r.optionalBool("attention_bias", false);
    c.qk_norm = family->qk_norm;
    c.bos_token_id = r.optionalInt("bos_token_id", -1);
    c.eos_token_id = r.optionalInt("eos_token_id", -1);
    c.sliding_window = r.optionalInt("sliding_window", 0);
    r.requireRange("sliding_window", double(c.sliding_window), 0, kMaxSize);
    c.torch_dtype = r.optionalString("torch_dtype");
    if (r.optionalString("hidden_act") != "" && r.optionalString("hidden_act") != "silu")
        r.fail("hidden_act", "is '" + r.optionalString("hidden_act") + "', only 'silu' is supported");

    if (family->moe)
        readExperts(r, *family, c);

    const QJsonObject rs = r.object("rope_scaling");
    if (!rs.isEmpty()) {
        const ConfigReader s(rs, file + ": rope_scaling");
        std::string type = s.optionalString("rope_type");
        if (type.empty())
            type = s.optionalString("type");
        if (type == "default")
            type.clear();
        if (!type.empty() && type != "linear" && type != "llama3")
            throw Error(file + ": rope_scaling type '" + type +
                        "' is not supported (linear and llama3 are)");
        c.rope_scaling.type = type;
        c.rope_scaling.factor = s.optionalDouble("factor", 1.0);
        c.rope_scaling.low_freq_factor = s.optionalDouble("low_freq_factor", 1.0);
        c.rope_scaling.high_freq_factor = s.optionalDouble("high_freq_factor", 4.0);
        c.rope_scaling.original_max_position_embeddings =
            s.optionalInt("original_max_position_embeddings", 8192);
        // Real factors are 1 .. 64 (Llama 3.x: 8 and 32); beyond 1024 the
        // positions collapse onto each other.
        s.requireRange("factor", c.rope_scaling.factor, 1e-6, 1024);
        s.requireRange("low_freq_factor", c.rope_scaling.low_freq_factor, 1e-6, 1024);
        s.requireRange("high_freq_factor", c.rope_scaling.high_freq_factor, 1e-6, 1024);
        s.requireRange("original_max_position_embeddings", double(c.rope_scaling.original_max_position_embeddings), 1,
                       kMaxSize);
        // llama3's smoothing divides by high - low
        if (type == "llama3" && c.rope_scaling.high_freq_factor <= c.rope_scaling.low_freq_factor)
            s.fail("high_freq_factor", "must be larger than low_freq_factor");
    }
    return c;
}

int64_t ModelConfig::headsKv(int64_t block) const
{
    return block_n_head_kv.empty() ? n_head_kv : block_n_head_kv.at(std::size_t(block));
}

int64_t ModelConfig::heads(int64_t block) const { return headsKv(block) * (n_head / n_head_kv); }

int64_t ModelConfig::intermediate(int64_t block) const
{
    return block_intermediate_size.empty() ? intermediate_size : block_intermediate_size.at(std::size_t(block));
}

std::pair<int, int> ModelConfig::firstWidthDifference(const std::vector<int>& blocks) const
{
    for (int b : blocks)
        if (headsKv(b) != headsKv(blocks.front()) || intermediate(b) != intermediate(blocks.front()))
            return {blocks.front(), b};
    return {-1, -1};
}

int64_t ModelConfig::blockParameters() const { return blockParameters(-1); }

int64_t ModelConfig::blockParameters(int64_t block) const
{
    const int64_t nkv = block < 0 ? n_head_kv : headsKv(block), ff = block < 0 ? intermediate_size : intermediate(block);
    const int64_t q = nkv * (n_head / n_head_kv) * head_dim, kv = nkv * head_dim;
    int64_t p = hidden_size * (q + 2 * kv) + q * hidden_size; // q k v o
    if (attention_bias)
        p += q + 2 * kv;
    if (isMoe())
        p += n_expert * (3 * hidden_size * expert_intermediate_size + hidden_size); // experts and the router
    else
        p += 3 * hidden_size * ff; // gate up down
    p += 2 * hidden_size;                     // two norms
    if (qk_norm)
        p += 2 * head_dim;
    return p;
}

int64_t ModelConfig::totalParameters() const
{
    int64_t p = vocab_size * hidden_size + hidden_size;
    for (int64_t b = 0; b < n_layer; ++b)
        p += uniformWidths() ? blockParameters() : blockParameters(b);
    if (!tie_word_embeddings)
        p += vocab_size * hidden_size;
    return p;
}

} // namespace tailor
