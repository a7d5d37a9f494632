#include "imatrix.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/formats/gguf/gguf_writer.h"
#include "core/model/arch_table.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/moe_forward.h"
#include "core/model/model.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace tailor {

std::vector<float> ImatrixEntry::weights() const
{
    std::vector<float> w(sums.size());
    const std::size_t cols = std::size_t(columns());
    // llama-quantize: a matrix never reached gets weight 1 everywhere
    for (std::size_t j = 0; j < w.size(); ++j) {
        const float count = counts[j / cols];
        w[j] = count > 0.0f ? sums[j] / count : 1.0f;
    }
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
    e.counts = {float(x.size(0))};
    return e;
}

ImatrixEntry imatrixEntryOfExperts(const std::vector<at::Tensor>& inputs, int64_t cols)
{
    ImatrixEntry e;
    for (const at::Tensor& in : inputs) {
        if (in.numel() == 0) { // an expert no token reached: zeros and count 0, as llama.cpp writes it
            e.sums.insert(e.sums.end(), std::size_t(cols), 0.0f);
            e.counts.push_back(0.0f);
            continue;
        }
        const ImatrixEntry one = imatrixEntryOf(in);
        e.sums.insert(e.sums.end(), one.sums.begin(), one.sums.end());
        e.counts.push_back(one.counts[0]);
    }
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
        const BlockWeights w = model.block(b);
        h = blockForward(w, c, h, rope, &in);
        for (TensorRole role : linearRoles()) {
            if (w.isMoe() && (role == TensorRole::FfnGate || role == TensorRole::FfnUp || role == TensorRole::FfnDown))
                continue;
            m.entries[ggufTensorName(role, b)] = imatrixEntryOf(in.forRole(role)); // count: the window tokens
        }
        if (w.isMoe()) {
            // llama.cpp's imatrix tool: the router as any matrix, and each expert
            // its own sums and count over the (token, choice) pairs routed to it;
            // gate and up read the block's MLP input, down the expert's activation
            const at::Tensor y = in.mlp_in.reshape({-1, c.hidden_size});
            m.entries[ggufTensorName(TensorRole::FfnGateInp, b)] = imatrixEntryOf(y);
            const Routing r = routeTokens(w.router, c, y);
            std::vector<at::Tensor> xin, act;
            for (int64_t e = 0; e < c.n_expert; ++e) {
                const at::Tensor x = y.index_select(0, routedTo(r, e).token);
                xin.push_back(x);
                act.push_back(expertActivation(w.experts[std::size_t(e)], x));
            }
            const ImatrixEntry shared = imatrixEntryOfExperts(xin, c.hidden_size);
            m.entries[ggufTensorName(TensorRole::FfnGateExps, b)] = shared;
            m.entries[ggufTensorName(TensorRole::FfnUpExps, b)] = shared;
            m.entries[ggufTensorName(TensorRole::FfnDownExps, b)] = imatrixEntryOfExperts(act, c.expert_intermediate_size);
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
        const int64_t n = e.matrices();
        w.addTensor(name + ".in_sum2", {e.columns(), n}, gguf::TensorType::F32,
                    [sums] { return QByteArray(reinterpret_cast<const char*>(sums.data()), qsizetype(sums.size() * 4)); });
        const std::vector<float> counts = e.counts;
        w.addTensor(name + ".counts", {1, n}, gguf::TensorType::F32,
                    [counts] { return QByteArray(reinterpret_cast<const char*>(counts.data()), qsizetype(counts.size() * 4)); });
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
        else
            m.entries[counts].counts = v; // one per matrix: a mixture's experts each have their own
    }
    if (m.entries.empty())
        throw Error(path + ": no importance data (no '<tensor>.in_sum2' tensors)");
    for (const auto& [name, e] : m.entries) {
        if (e.sums.empty())
            throw Error(path + ": '" + name + "' has counts but no in_sum2");
        if (f->tensor(name + ".counts") == nullptr || e.counts.empty())
            throw Error(path + ": '" + name + "' has in_sum2 but no counts");
        if (e.sums.size() % e.counts.size() != 0)
            throw Error(path + ": '" + name + "' has " + std::to_string(e.sums.size()) + " sums for " + std::to_string(e.counts.size()) +
                        " counts (each matrix's columns, one count each)");
        for (float v : e.sums)
            if (!std::isfinite(v))
                throw Error(path + ": '" + name + "' holds a non-finite value");
    }
    return m;
}

void checkImatrixFits(const Imatrix& m, const std::map<std::string, std::pair<int64_t, int64_t>>& columns)
{
    const std::string file = m.source.empty() ? "importance matrix" : "importance matrix " + m.source;
    for (const auto& [name, shape] : columns) {
        const auto [cols, matrices] = shape;
        const auto it = m.entries.find(name);
        if (it == m.entries.end())
            throw Error(file + ": no entry for " + name + " (made for another model, or missing layers)");
        if (it->second.columns() != cols)
            throw Error(file + ": " + name + " has " + std::to_string(it->second.columns()) + " columns, the model's has " +
                        std::to_string(cols) + " (made for another model?)");
        if (it->second.matrices() != matrices)
            throw Error(file + ": " + name + " holds " + std::to_string(it->second.matrices()) + " experts' statistics, the model has " +
                        std::to_string(matrices) + " (made before expert pruning? compute it on this model)");
    }
    for (const auto& [name, e] : m.entries)
        if (name.rfind("blk.", 0) == 0 && columns.find(name) == columns.end())
            throw Error(file + ": entry " + name + " matches no layer of this model (made for another model?)");
}

} // namespace tailor
