#include "model_session.h"
#include "arch_table.h"
#include "core/util/error.h"
#include "model.h"
#include "core/formats/gguf/gguf_types.h"
#include "core/tokenizer/tokenizer.h"

#include <QFile>
#include <QFileInfo>

namespace tailor {

ModelSession::~ModelSession() = default;

namespace {

std::string kindOf(const std::string& name, int block)
{
    for (const auto& r : tensorRoles())
        if (hfTensorName(r.role, block) == name)
            return r.kind;
    return "other";
}

} // namespace

std::shared_ptr<ModelSession> ModelSession::open(const std::string& dir)
{
    std::shared_ptr<ModelSession> s(new ModelSession());
    s->model_ = Model::load(dir);
    s->tokenizer_ = Tokenizer::load(dir);
    const ModelConfig& c = s->model_->config();
    const Checkpoint& ck = s->model_->checkpoint();
    ModelSummary& m = s->summary_;
    m.dir = QFileInfo(QString::fromStdString(dir)).absoluteFilePath().toStdString();
    m.model_type = c.model_type;
    m.n_layer = c.n_layer;
    m.hidden_size = c.hidden_size;
    m.intermediate_size = c.intermediate_size;
    m.n_expert = c.n_expert;
    m.n_expert_used = c.n_expert_used;
    m.expert_intermediate_size = c.expert_intermediate_size;
    m.n_head = c.n_head;
    m.n_head_kv = c.n_head_kv;
    m.head_dim = c.head_dim;
    m.vocab_size = c.vocab_size;
    m.max_position_embeddings = c.max_position_embeddings;
    m.rope_theta = c.rope_theta;
    m.rms_norm_eps = c.rms_norm_eps;
    m.tie_word_embeddings = c.tie_word_embeddings;
    m.dtype = ck.mainDType();
    m.parameters = c.totalParameters();
    m.block_parameters = c.blockParameters();
    m.file_bytes = ck.totalBytes();
    for (const auto& [name, t] : ck.tensors()) {
        TensorSummary ts;
        ts.name = name;
        ts.shape = t.info->shape;
        ts.dtype = t.ggml ? gguf::typeName(*t.ggml) : dtypeName(t.info->dtype);
        ts.parameters = t.info->numel();
        ts.block = blockIndexOfTensor(name);
        ts.kind = kindOf(name, ts.block);
        m.tensors.push_back(ts);
    }
    // Blocks in numeric order, globals first (std::map sorted "layers.10" before "layers.2").
    std::stable_sort(m.tensors.begin(), m.tensors.end(),
                     [](const TensorSummary& a, const TensorSummary& b) { return a.block < b.block; });
    if (s->tokenizer_->vocabSize() > c.vocab_size)
        throw Error(dir + ": tokenizer.json has " + std::to_string(s->tokenizer_->vocabSize()) +
                    " tokens but the model's vocabulary is " + std::to_string(c.vocab_size));
    return s;
}

std::string readTextFile(const std::string& path)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        throw Error(path + ": cannot read: " + f.errorString().toStdString());
    return f.readAll().toStdString();
}

std::vector<int32_t> ModelSession::tokenizeFile(const std::string& path) const
{
    const std::string text = readTextFile(path);
    if (text.empty())
        throw Error(path + ": the text file is empty");
    try {
        return tokenizer_->encode(text);
    } catch (...) {
        rethrowWithContext(path);
    }
}

} // namespace tailor

namespace tailor {

TokenWindows ModelSession::calibration(const std::string& path, const CalibOptions& opt) const
{
    return calibrationWindows(tokenizeFile(path), opt, path);
}

} // namespace tailor
