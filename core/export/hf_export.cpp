#include "hf_export.h"
#include "core/model/arch_table.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/model/model.h"
#include "core/eval/perplexity.h"
#include "core/formats/safetensors_writer.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <sys/stat.h>

namespace tailor {

namespace {

void writeFile(const QString& path, const QByteArray& bytes)
{
    writeFileAtomically(path.toStdString(), bytes);
}

struct OutTensor {
    std::string name;
    DType dtype;
    at::Tensor data;
};

// QTemporaryDir makes the folder 0700 (private while half-written); the
// finished export gets the permissions any folder the user makes would.
void applyUmask(const QString& dir)
{
    const mode_t mask = umask(0);
    umask(mask);
    ::chmod(QFile::encodeName(dir).constData(), 0777 & ~mask);
}

} // namespace

void exportHf(const Model& model, const std::vector<int>& dropBlocks, const std::string& outDirIn, const HfExportOptions& opt,
              const ProgressFn& progress)
{
    if (!opt.dtype.empty() && opt.dtype != "F32" && opt.dtype != "F16" && opt.dtype != "BF16")
        throw Error("export dtype '" + opt.dtype + "' is not F32, F16 or BF16");
    // Without a requested dtype every tensor keeps the one it was stored in
    // (a changed tensor: its original's), so an export loses no precision.
    const Checkpoint& ckpt = model.checkpoint();
    const auto dtypeOf = [&](const std::string& src) {
        if (!opt.dtype.empty())
            return *dtypeFromSafetensors(opt.dtype);
        if (const CheckpointTensor* t = ckpt.find(src))
            return t->info->dtype;
        const auto f = ckpt.factoredWeights().find(src);
        if (f != ckpt.factoredWeights().end())
            return f->second.first->info->dtype;
        return *dtypeFromSafetensors(ckpt.mainDType());
    };
    const auto skip = blockSkipMask(model, dropBlocks);
    // Non-uniform width pruning: config.json has one width for all blocks.
    // Refused before anything is written; the kept blocks' widths when they agree.
    const ModelConfig& c = model.config();
    std::vector<int> keptBlocks;
    for (int b = 0; b < model.nBlocks(); ++b)
        if (!skip[std::size_t(b)])
            keptBlocks.push_back(b);
    const int firstKept = keptBlocks.empty() ? -1 : keptBlocks.front();
    if (const auto [a, b] = c.firstWidthDifference(keptBlocks); b >= 0)
        throw Error("HF export: blocks " + std::to_string(a) + " and " + std::to_string(b) + " have different widths (" +
                    std::to_string(c.headsKv(a)) + " and " + std::to_string(c.headsKv(b)) + " KV heads, " +
                    std::to_string(c.intermediate(a)) + " and " + std::to_string(c.intermediate(b)) +
                    " MLP channels) after non-uniform width pruning, and config.json holds one width for all blocks: "
                    "export as GGUF (llama.cpp's deci architecture holds per-block widths) or prune uniformly");
    const QString outDir = QFileInfo(QString::fromStdString(outDirIn)).absoluteFilePath();
    // --force replaces the output: never let that be the model being read
    const QString srcCanonical = QFileInfo(QString::fromStdString(model.checkpoint().dir())).canonicalFilePath();
    const QString outCanonical = QFileInfo(outDir).canonicalFilePath();
    if (!outCanonical.isEmpty() && (outCanonical == srcCanonical || srcCanonical.startsWith(outCanonical + "/")))
        throw Error(outDir.toStdString() + ": is (or contains) the source model " + srcCanonical.toStdString() +
                    "; choose another output");
    if (QFileInfo::exists(outDir) && !opt.force)
        throw Error(outDir.toStdString() + ": already exists (use --force to replace it)");
    const QString parent = QFileInfo(outDir).absolutePath();
    if (!QDir().mkpath(parent))
        throw Error(parent.toStdString() + ": cannot create the output's parent directory");
    QTemporaryDir tmp(parent + "/.tailor-export-XXXXXX");
    if (!tmp.isValid())
        throw Error(parent.toStdString() + ": not writable (" + tmp.errorString().toStdString() + ")");
    const QDir out(tmp.path());

    // config.json: the original with the block count and dtype changed
    const QString srcDir = QString::fromStdString(model.checkpoint().dir());
    QFile cfgFile(QDir(srcDir).filePath("config.json"));
    if (!cfgFile.open(QIODevice::ReadOnly))
        throw Error(srcDir.toStdString() + "/config.json: cannot read");
    QJsonObject cfg = QJsonDocument::fromJson(cfgFile.readAll()).object();
    const int kept = model.nBlocks() - int(dropBlocks.size());
    cfg["num_hidden_layers"] = kept;
    // the model's own widths (a width-pruned model has fewer heads, a narrower MLP)
    cfg["num_attention_heads"] = double(c.heads(std::max(firstKept, 0)));
    cfg["num_key_value_heads"] = double(c.headsKv(std::max(firstKept, 0)));
    if (c.isMoe()) // expert pruning changes the count; the expert width stays
        cfg[QString::fromStdString(archFamily(c.model_type)->moe_expert_count_key)] = double(c.n_expert);
    else
        cfg["intermediate_size"] = double(c.intermediate(std::max(firstKept, 0)));
    if (model.config().n_head * model.config().head_dim != model.config().hidden_size)
        cfg["head_dim"] = double(model.config().head_dim); // no longer implied by hidden_size / heads
    const std::string mainType = opt.dtype.empty() ? ckpt.mainDType() : opt.dtype;
    cfg["torch_dtype"] = mainType == "F32" ? "float32" : mainType == "F16" ? "float16" : "bfloat16";
    writeFile(out.filePath("config.json"), QJsonDocument(cfg).toJson());
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json", "generation_config.json"}) {
        const QString src = QDir(srcDir).filePath(f);
        if (QFile::exists(src) && !QFile::copy(src, out.filePath(f)))
            throw Error(out.filePath(f).toStdString() + ": cannot copy the tokenizer file");
    }

    // Tensors in HF order, kept blocks renumbered 0..kept-1; factored weights
    // (with opt.factored) as <base>.lora_A.weight and <base>.lora_B.weight.
    struct Entry {
        std::string src, dst;
        int part = 0; // 0 the tensor, 1 factor A [k, in], 2 factor B [out, k]
    };
    std::vector<Entry> names;
    int64_t factoredCount = 0;
    auto addWeight = [&](const std::string& src, const std::string& dst) {
        if (opt.factored && model.factors(src).first.defined()) {
            const std::string base = dst.substr(0, dst.size() - std::string(".weight").size());
            names.push_back({src, base + ".lora_A.weight", 1});
            names.push_back({src, base + ".lora_B.weight", 2});
            ++factoredCount;
        } else
            names.push_back({src, dst, 0});
    };
    addWeight(hfTensorName(TensorRole::TokenEmbd), hfTensorName(TensorRole::TokenEmbd));
    int j = 0;
    for (int b = 0; b < model.nBlocks(); ++b) {
        if (skip[std::size_t(b)])
            continue;
        // (a mixture's router and experts too, under the family's names)
        const auto src = blockTensorNames(c, b), dst = blockTensorNames(c, j);
        for (std::size_t i = 0; i < src.size(); ++i)
            addWeight(src[i].second, dst[i].second);
        ++j;
    }
    addWeight(hfTensorName(TensorRole::OutputNorm), hfTensorName(TensorRole::OutputNorm));
    if (!model.config().tie_word_embeddings)
        addWeight(hfTensorName(TensorRole::Output), hfTensorName(TensorRole::Output));
    const auto tensorOf = [&](const Entry& e) {
        return e.part == 0 ? model.raw(e.src) : e.part == 1 ? model.factors(e.src).second : model.factors(e.src).first;
    };

    std::vector<int> shardOf;
    int shards = 1;
    uint64_t current = 0;
    for (const auto& e : names) {
        uint64_t bytes = dtypeSize(dtypeOf(e.src));
        for (auto d : tensorOf(e).sizes())
            bytes *= uint64_t(d);
        if (current > 0 && current + bytes > opt.shard_bytes) {
            ++shards;
            current = 0;
        }
        current += bytes;
        shardOf.push_back(shards - 1);
    }
    QJsonObject weightMap;
    uint64_t totalBytes = 0;
    std::size_t i = 0;
    for (int s = 0; s < shards; ++s) {
        const QString file = shards == 1 ? QString("model.safetensors")
                                         : QString("model-%1-of-%2.safetensors").arg(s + 1, 5, 10, QChar('0')).arg(shards, 5, 10, QChar('0'));
        std::vector<OutTensor> data;
        for (; i < names.size() && shardOf[i] == s; ++i) {
            const DType dt = dtypeOf(names[i].src);
            data.push_back({names[i].dst, dt, tensorOf(names[i]).to(scalarTypeOf(dt)).contiguous()});
            weightMap[QString::fromStdString(names[i].dst)] = file;
            reportProgress(progress, double(i + 1) / double(names.size()), "writing " + names[i].dst);
        }
        std::vector<TensorToWrite> tw;
        for (const auto& t : data) {
            const uint64_t bytes = uint64_t(t.data.numel()) * uint64_t(t.data.element_size());
            tw.push_back({t.name, t.dtype, t.data.sizes().vec(), t.data.data_ptr(), bytes});
            totalBytes += bytes;
        }
        try {
            writeSafetensors(out.filePath(file).toStdString(), tw, {{"format", "pt"}});
        } catch (const Error& e) {
            // name the output the user asked for, not the temporary folder
            const std::string why = e.what();
            throw Error(outDir.toStdString() + ": cannot write " + file.toStdString() + why.substr(why.find(':')) +
                        "; nothing was written");
        }
    }
    if (shards > 1)
        writeFile(out.filePath("model.safetensors.index.json"),
                  QJsonDocument(QJsonObject{{"metadata", QJsonObject{{"total_size", double(totalBytes)}}}, {"weight_map", weightMap}}).toJson());

    QString dropped;
    for (int b : dropBlocks)
        dropped += (dropped.isEmpty() ? "" : ", ") + QString::number(b);
    const QString factoredNote =
        factoredCount == 0 ? QString()
                           : QString("- %1 low-rank weights stored factored: `<name>.lora_B.weight` [out, k] · "
                                     "`<name>.lora_A.weight` [k, in] = `<name>.weight` (Tailor reopens this; other tools "
                                     "need the product, or the dense export)\n")
                                 .arg(factoredCount);
    const QString card = QString("# %1 (compressed with Tailor)\n\n"
                                 "- source: `%2`\n- blocks: %3 of %4 kept%5\n- dtype: %6\n- exported: %7\n%9\n%8\n")
                             .arg(QFileInfo(outDir).fileName(), srcDir)
                             .arg(kept)
                             .arg(model.nBlocks())
                             .arg(dropped.isEmpty() ? QString() : QString(" (dropped %1, later blocks renumbered)").arg(dropped))
                             .arg(QString::fromStdString(opt.dtype.empty() ? "as stored (" + mainType + ")" : opt.dtype), QDateTime::currentDateTimeUtc().toString(Qt::ISODate),
                                  QString::fromStdString(opt.model_card), factoredNote);
    writeFile(out.filePath("README.md"), card.toUtf8());

    // Into place: move an existing output aside, rename, then drop the old one.
    const QString old = outDir + ".tailor-old";
    QDir(old).removeRecursively();
    if (QFileInfo::exists(outDir) && !QDir().rename(outDir, old))
        throw Error(outDir.toStdString() + ": cannot replace the existing output");
    applyUmask(tmp.path());
    if (!QDir().rename(tmp.path(), outDir)) {
        QDir().rename(old, outDir);
        throw Error(outDir.toStdString() + ": cannot move the export into place");
    }
    tmp.setAutoRemove(false);
    QDir(old).removeRecursively();
}

} // namespace tailor
