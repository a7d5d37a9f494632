#include "imatrix.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/formats/gguf/gguf_writer.h"
#include "core/model/arch_table.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace tailor {

std::vector<float> ImatrixEntry::weights() const
{
    std::vector<float> w(sums.size());
    // llama-quantize: a layer never reached gets weight 1 everywhere
    for (std::size_t j = 0; j < w.size(); ++j)
        w[j] = count > 0.0f ? sums[j] / count : 1.0f;
    return w;
}

std::vector<float> Imatrix::weights(const std::string& tensor) const
{
    const auto it = entries.find(tensor);
    return it == entries.end() ? std::vector<float>{} : it->second.weights();
}

ImatrixEntry imatrixEntryOf(const at::Tensor& inputs)
{
    // squares summed in double: millions of tokens would lose digits in float
    const at::Tensor x = inputs.reshape({-1, inputs.size(-1)});
    const at::Tensor s = x.to(at::kDouble).pow(2).sum(0).to(at::kFloat).contiguous();
    ImatrixEntry e;
    e.sums.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
    e.count = float(x.size(0));
    return e;
}

Imatrix computeImatrix(const Model& model, const TokenWindows& calib, const std::string& dataset, const ProgressFn& progress)
{
    Imatrix m;
    m.datasets = {dataset};
    m.chunkCount = uint32_t(calib.count);
    m.chunkSize = uint32_t(calib.seq_len);
    const ModelConfig& c = model.config();
    at::NoGradGuard noGrad;
    const at::Tensor ids = at::from_blob(const_cast<int64_t*>(calib.ids.data()), {calib.count, calib.seq_len}, at::kLong);
    const RopeTable rope = makeRope(c, calib.seq_len);
    at::Tensor h = model.embed(ids);
    for (int b = 0; b < model.nBlocks(); ++b) {
        LinearInputs in;
        h = blockForward(model.block(b), c, h, rope, &in);
        for (TensorRole role : linearRoles()) {
            m.entries[ggufTensorName(role, b)] = imatrixEntryOf(in.forRole(role)); // count: the window tokens
        }
        reportProgress(progress, double(b + 1) / model.nBlocks(), "importance matrix: block " + std::to_string(b + 1));
    }
    return m;
}

void writeImatrix(const Imatrix& m, const std::string& path, bool force)
{
    gguf::Writer w;
    w.addString("general.type", "imatrix");
    w.addStringArray("imatrix.datasets", m.datasets);
    w.addUInt32("imatrix.chunk_count", m.chunkCount);
    w.addUInt32("imatrix.chunk_size", m.chunkSize);
    for (const auto& [name, e] : m.entries) { // std::map: sorted, as llama.cpp writes them
        const std::vector<float> sums = e.sums;
        w.addTensor(name + ".in_sum2", {int64_t(sums.size()), 1}, gguf::TensorType::F32,
                    [sums] { return QByteArray(reinterpret_cast<const char*>(sums.data()), qsizetype(sums.size() * 4)); });
        const float count = e.count;
        w.addTensor(name + ".counts", {1, 1}, gguf::TensorType::F32,
                    [count] { return QByteArray(reinterpret_cast<const char*>(&count), 4); });
    }
    w.write(path, force);
}

Imatrix readImatrix(const std::string& path)
{
    const auto f = gguf::File::open(path);
    Imatrix m;
    m.source = path;
    if (const auto* kv = f->find("general.type"); kv && kv->value.toString() != "imatrix")
        throw Error(path + ": general.type is '" + kv->value.toString().toStdString() + "', not an importance matrix");
    if (const auto* kv = f->find("imatrix.datasets"))
        for (const QVariant& v : kv->value.toList())
            m.datasets.push_back(v.toString().toStdString());
    if (const auto* kv = f->find("imatrix.chunk_count"))
        m.chunkCount = uint32_t(kv->value.toLongLong());
    if (const auto* kv = f->find("imatrix.chunk_size"))
        m.chunkSize = uint32_t(kv->value.toLongLong());
    auto stem = [](const std::string& n, const std::string& suffix) {
        return n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0
                   ? n.substr(0, n.size() - suffix.size())
                   : std::string();
    };
    for (const auto& t : f->tensors()) {
        const std::string sums = stem(t.name, ".in_sum2"), counts = stem(t.name, ".counts");
        if (sums.empty() && counts.empty())
            continue;
        if (t.type != gguf::TensorType::F32)
            throw Error(path + ": '" + t.name + "' is " + gguf::typeName(t.type) + ", importance data must be F32");
        const std::vector<float> v = f->dequantize(t.name);
        if (!sums.empty())
            m.entries[sums].sums = v;
        else {
            if (v.size() != 1)
                throw Error(path + ": '" + t.name + "' has " + std::to_string(v.size()) +
                            " counts; Tailor reads importance matrices of dense models (one count per layer)");
            m.entries[counts].count = v[0];
        }
    }
    if (m.entries.empty())
        throw Error(path + ": no importance data (no '<tensor>.in_sum2' tensors)");
    for (const auto& [name, e] : m.entries) {
        if (e.sums.empty())
            throw Error(path + ": '" + name + "' has counts but no in_sum2");
        if (f->tensor(name + ".counts") == nullptr)
            throw Error(path + ": '" + name + "' has in_sum2 but no counts");
        for (float v : e.sums)
            if (!std::isfinite(v))
                throw Error(path + ": '" + name + "' holds a non-finite value");
    }
    return m;
}

void checkImatrixFits(const Imatrix& m, const std::map<std::string, int64_t>& columns)
{
    const std::string file = m.source.empty() ? "importance matrix" : "importance matrix " + m.source;
    for (const auto& [name, cols] : columns) {
        const auto it = m.entries.find(name);
        if (it == m.entries.end())
            throw Error(file + ": no entry for " + name + " (made for another model, or missing layers)");
        if (int64_t(it->second.sums.size()) != cols)
            throw Error(file + ": " + name + " has " + std::to_string(it->second.sums.size()) + " columns, the model's has " +
                        std::to_string(cols) + " (made for another model?)");
    }
    for (const auto& [name, e] : m.entries)
        if (name.rfind("blk.", 0) == 0 && columns.find(name) == columns.end())
            throw Error(file + ": entry " + name + " matches no layer of this model (made for another model?)");
}

} // namespace tailor
