#include "checkpoint.h"
#include "arch_table.h"
#include "core/util/error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <set>

namespace tailor {

namespace {

// Shard file names listed by model.safetensors.index.json's weight_map.
std::vector<std::string> shardsFromIndex(const QString& indexPath)
{
    QFile f(indexPath);
    if (!f.open(QIODevice::ReadOnly))
        throw Error(indexPath.toStdString() + ": cannot open");
    QJsonParseError err{};
    const auto doc = QJsonDocument::fromJson(f.readAll(), &err);
    if (err.error != QJsonParseError::NoError || !doc.isObject())
        throw Error("model.safetensors.index.json: not valid JSON at byte " + std::to_string(err.offset));
    const QJsonValue wm = doc.object().value("weight_map");
    if (!wm.isObject())
        throw Error("model.safetensors.index.json: key 'weight_map' is missing or not an object");
    std::set<std::string> names;
    const QJsonObject map = wm.toObject();
    for (auto it = map.begin(); it != map.end(); ++it) {
        if (!it.value().isString())
            throw Error("model.safetensors.index.json: weight_map entry '" + it.key().toStdString() +
                        "' is not a file name");
        const QString file = it.value().toString();
        if (file.contains('/') || file.startsWith('.'))
            throw Error("model.safetensors.index.json: shard name '" + file.toStdString() +
                        "' must be a plain file name");
        names.insert(file.toStdString());
    }
    return {names.begin(), names.end()};
}

} // namespace

std::shared_ptr<Checkpoint> Checkpoint::open(const std::string& dirPath)
{
    const QDir dir(QString::fromStdString(dirPath));
    if (!dir.exists())
        throw Error(dirPath + ": no such directory");
    if (!dir.exists("config.json"))
        throw Error(dirPath + ": no model here (config.json is missing)");
    auto ck = std::make_shared<Checkpoint>();
    ck->dir_ = dirPath;
    try {
        ck->config_ = ModelConfig::fromFile(dir.filePath("config.json").toStdString());
    } catch (...) {
        rethrowWithContext("reading " + dirPath);
    }

    std::vector<std::string> shardNames;
    if (dir.exists("model.safetensors.index.json"))
        shardNames = shardsFromIndex(dir.filePath("model.safetensors.index.json"));
    else if (dir.exists("model.safetensors"))
        shardNames = {"model.safetensors"};
    else
        for (const QString& f : dir.entryList({"*.safetensors"}, QDir::Files, QDir::Name))
            shardNames.push_back(f.toStdString());
    if (shardNames.empty())
        throw Error(dirPath + ": no *.safetensors file (Tailor reads safetensors checkpoints)");

    for (const auto& name : shardNames) {
        auto file = SafetensorsFile::open(dir.filePath(QString::fromStdString(name)).toStdString());
        for (const auto& t : file->tensors()) {
            if (ck->tensors_.count(t.name))
                throw Error(name + ": tensor '" + t.name + "' also appears in another shard");
            ck->tensors_[t.name] = CheckpointTensor{&t, file, nullptr, std::nullopt};
        }
        ck->files_.push_back(std::move(file));
    }
    ck->validateArchitecture();
    return ck;
}

const CheckpointTensor* Checkpoint::find(const std::string& name) const
{
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

const CheckpointTensor& Checkpoint::get(const std::string& name) const
{
    if (const auto* t = find(name))
        return *t;
    throw Error(dir_ + ": tensor '" + name + "' is missing from the checkpoint");
}

// The files a tensor was looked for in, as a user can find them (at most three).
std::string Checkpoint::searchedFiles() const
{
    std::string out;
    for (std::size_t i = 0; i < files_.size() && i < 3; ++i)
        out += (i ? ", " : "") + files_[i]->path();
    if (files_.size() > 3)
        out += " and " + std::to_string(files_.size() - 3) + " more shards";
    return out;
}

void Checkpoint::validateArchitecture() const
{
    auto check = [&](TensorRole role, int block, int expert) {
        const std::string name = hfTensorName(config_, role, block, expert);
        const auto* t = find(name);
        const auto want = expectedShape(config_, role, block);
        if (!t && name.size() > 7 && want.size() == 2) { // factored as lora_B · lora_A?
            const std::string base = name.substr(0, name.size() - 7);
            const auto *b = find(base + ".lora_B.weight"), *a = find(base + ".lora_A.weight");
            if (a && b) {
                const auto &sb = b->info->shape, &sa = a->info->shape;
                if (sb.size() != 2 || sa.size() != 2 || sb[0] != want[0] || sa[1] != want[1] || sb[1] != sa[0])
                    throw Error(dir_ + ": factors of '" + name + "' have shapes " + shapeString(sb) + " · " + shapeString(sa) +
                                ", which do not multiply to " + shapeString(want));
                factored_[name] = {b, a};
                return;
            }
        }
        if (!t)
            throw Error(dir_ + ": tensor '" + name + "' is missing from " + searchedFiles() + " (needed by a " +
                        config_.model_type + " model with " + std::to_string(config_.n_layer) + " blocks)");
        if (t->info->shape != want)
            throw Error(t->storedIn() + ": tensor '" + name + "' has shape " + shapeString(t->info->shape) + ", but " +
                        dir_ + "/config.json implies " + shapeString(want) +
                        (role == TensorRole::FfnGateInp ? " (a router row per expert: " + std::to_string(config_.n_expert) + " experts)" : ""));
        if (t->info->dtype != DType::F32 && t->info->dtype != DType::F16 && t->info->dtype != DType::BF16)
            throw Error(dir_ + ": tensor '" + name + "' has dtype " + dtypeName(t->info->dtype) +
                        "; weights must be F32, F16 or BF16");
    };
    for (auto role : globalRoles(config_))
        check(role, -1, -1);
    for (int b = 0; b < config_.n_layer; ++b) {
        for (auto role : blockRoles(config_))
            check(role, b, -1);
        for (int x = 0; x < config_.n_expert; ++x)
            for (auto role : expertRoles())
                check(role, b, x);
    }
}

std::string CheckpointTensor::storedIn() const
{
    return file ? file->path() : std::string("the GGUF file");
}

uint64_t Checkpoint::totalBytes() const
{
    if (gguf_)
        return ggufSize_;
    uint64_t n = 0;
    for (const auto& f : files_)
        n += f->fileSize();
    return n;
}

std::string Checkpoint::mainDType() const
{
    std::map<std::string, uint64_t> bytes;
    for (const auto& [name, t] : tensors_)
        bytes[t.ggml ? gguf::typeName(*t.ggml) : dtypeName(t.info->dtype)] += t.info->bytes;
    std::string best;
    uint64_t most = 0;
    for (const auto& [d, n] : bytes)
        if (n > most) {
            most = n;
            best = d;
        }
    return best;
}

} // namespace tailor
