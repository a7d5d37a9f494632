// GGUF export (#7): Q8_0/Q4_0/F16/F32 tensors read back equal the engine's own
// quantization exactly; q/k rows are in llama.cpp's order; metadata and the
// embedded tokenizer agree with the model, with Tailor's reader and with an
// independent one (@huggingface/gguf); damaged files are refused by name.
#include <ATen/ATen.h>
#include "core/model/arch_table.h"
#include "core/util/error.h"
#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/formats/gguf/gguf_vocab.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/quant/linear_quantizer.h"
#include "test_data.h"

#include <QFile>
#include <QJsonArray>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

using namespace tailor;

namespace {
// The tensor as [rows, cols] in HF's row order.
at::Tensor readBack(const gguf::File& f, const std::string& name, int64_t heads, int64_t hd)
{
    const gguf::TensorInfo* t = f.tensor(name);
    std::vector<float> v = f.dequantize(name);
    at::Tensor x = at::from_blob(v.data(), {t->elements()}, at::kFloat).clone();
    if (t->ne.size() == 2)
        x = x.view({t->ne[1], t->ne[0]});
    if (heads > 0)
        x = x.index_select(0, at::tensor(ropeRowPermutation(heads, hd, true), at::kLong));
    return x;
}

QJsonObject independentDump(const QString& file)
{
    QProcess node;
    node.start("node", {QStringLiteral(TAILOR_TEST_DATA) + "/../tools/gguf_dump.cjs", file});
    if (!node.waitForFinished(60000) || node.exitCode() != 0)
        qWarning("node: %s", node.readAllStandardError().constData());
    return QJsonDocument::fromJson(node.readAllStandardOutput()).object();
}
} // namespace

class TestGguf : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void exportReadsBackExactly_data()
    {
        QTest::addColumn<QString>("type");
        QTest::newRow("Q8_0") << "Q8_0";
        QTest::newRow("Q4_0") << "Q4_0";
        QTest::newRow("F16") << "F16";
        QTest::newRow("F32") << "F32";
    }
    void exportReadsBackExactly()
    {
        QFETCH(QString, type);
        QTemporaryDir dir;
        const auto s = ModelSession::open(testdata::tinystories12L());
        const Model& m = s->model();
        const ModelConfig& c = m.config();
        const std::vector<int> drop = {5, 6, 7};
        const QString file = dir.filePath("m.gguf");
        GgufExportOptions opt;
        opt.type = type.toStdString();
        const GgufExportReport rep = exportGguf(m, drop, file.toStdString(), opt);
        // Q4_0: the tied embedding is also the output matrix, which llama-quantize keeps at
        // Q6_K, and 128-wide rows take Q8_0 instead (said)
        if (type == "Q4_0") {
            QCOMPARE(int(rep.warnings.size()), 1);
            QCOMPARE(QString::fromStdString(rep.warnings[0]),
                     QString("token_embd.weight: rows of 128 are not a multiple of 256 (Q6_K); written as Q8_0"));
        } else
            QVERIFY(rep.warnings.empty());
        const auto f = gguf::File::open(file.toStdString());
        QCOMPARE(f->version(), 3u);
        QCOMPARE(int64_t(f->tensors().size()), rep.tensors);
        QCOMPARE(uint64_t(QFileInfo(file).size()) >= rep.bytes, true);

        const bool quantized = type.startsWith("Q");
        const auto want = [&](const at::Tensor& raw) {
            const at::Tensor w = raw.to(at::kFloat);
            if (w.dim() == 1 || type == "F32")
                return w;
            if (type == "F16")
                return w.to(at::kHalf).to(at::kFloat);
            return fakeQuantize(w, QuantScheme::parse(type.toLower().toStdString()));
        };
        int checked = 0;
        const std::vector<int> kept = {0, 1, 2, 3, 4, 8, 9, 10, 11};
        for (std::size_t j = 0; j < kept.size(); ++j)
            for (TensorRole role : blockRoles(c)) {
                char name[96];
                std::snprintf(name, sizeof name, roleInfo(role).gguf, int(j));
                const int64_t heads = role == TensorRole::AttnQ ? c.n_head : role == TensorRole::AttnK ? c.n_head_kv : 0;
                const at::Tensor got = readBack(*f, name, heads, c.head_dim);
                const at::Tensor ref = want(m.raw(hfTensorName(role, kept[j])));
                QVERIFY2(at::equal(got, ref), name);
                QCOMPARE(gguf::typeName(f->tensor(name)->type), ref.dim() == 1 ? std::string("F32") : type.toStdString());
                ++checked;
            }
        const at::Tensor embd = m.raw("model.embed_tokens.weight").to(at::kFloat);
        QVERIFY(at::equal(readBack(*f, "token_embd.weight", 0, 0),
                          quantized ? fakeQuantize(embd, QuantScheme::parse("q8_0")) : want(embd)));
        QVERIFY(at::equal(readBack(*f, "output_norm.weight", 0, 0), want(m.raw("model.norm.weight"))));
        QCOMPARE(checked, 9 * 9);
        if (quantized) // the bytes are llama.cpp's: 34 (Q8_0) or 18 (Q4_0) per 32 weights
            QCOMPARE(f->tensor("blk.0.ffn_up.weight")->bytes, 352 * 128 / 32 * (type == "Q8_0" ? 34 : 18));

        // metadata
        auto num = [&](const char* key) { return f->find(key) ? f->find(key)->value.toLongLong() : -1; };
        QCOMPARE(f->find("general.architecture")->value.toString(), QString("llama"));
        QCOMPARE(num("llama.block_count"), 9LL);
        QCOMPARE(num("llama.embedding_length"), 128LL);
        QCOMPARE(num("llama.feed_forward_length"), 352LL);
        QCOMPARE(num("llama.attention.head_count"), 4LL);
        QCOMPARE(num("llama.attention.head_count_kv"), 2LL);
        QCOMPARE(num("llama.rope.dimension_count"), 32LL);
        QCOMPARE(num("llama.context_length"), c.max_position_embeddings);
        QCOMPARE(float(f->find("llama.attention.layer_norm_rms_epsilon")->value.toDouble()), float(c.rms_norm_eps));
        QCOMPARE(num("general.file_type"), type == "F32" ? 0LL : type == "F16" ? 1LL : type == "Q4_0" ? 2LL : 7LL);
        // the tokenizer: ids in order, as tokenizer.json has them
        const QJsonObject tj = testdata::readJson(QString::fromStdString(testdata::tinystories12L()) + "/tokenizer.json").object();
        const QJsonObject vocab = tj["model"].toObject()["vocab"].toObject();
        const QVariantList tokens = f->find("tokenizer.ggml.tokens")->value.toList();
        QCOMPARE(tokens.size(), qsizetype(c.vocab_size));
        for (auto it = vocab.begin(); it != vocab.end(); ++it)
            QCOMPARE(tokens[it.value().toInt()].toString(), it.key());
        QCOMPARE(f->find("tokenizer.ggml.model")->value.toString(), QString("llama"));
        QCOMPARE(f->find("tokenizer.ggml.scores")->value.toList().size(), tokens.size());
        const QVariantList types = f->find("tokenizer.ggml.token_type")->value.toList();
        QCOMPARE(types.size(), tokens.size());
        QCOMPARE(types[0].toInt(), 2); // <unk>
        QCOMPARE(types[1].toInt(), 3); // <s>
        QCOMPARE(types[3].toInt(), 6); // <0x00>
        QCOMPARE(num("tokenizer.ggml.bos_token_id"), c.bos_token_id);
        QCOMPARE(num("tokenizer.ggml.eos_token_id"), c.eos_token_id);
        QCOMPARE(f->find("tokenizer.ggml.add_bos_token")->value.toBool(), true);
        // a merged token scores -(its merge rank + 1): "▁t" + "he"... the first merge scores -1
        const QJsonArray merges = tj["model"].toObject()["merges"].toArray();
        const QString first = merges[0].isString() ? merges[0].toString().remove(' ')
                                                   : merges[0].toArray()[0].toString() + merges[0].toArray()[1].toString();
        QCOMPARE(f->find("tokenizer.ggml.scores")->value.toList()[vocab[first].toInt()].toDouble(), -1.0);

        // the independent reader sees the same metadata and tensor table
        const QJsonObject dump = independentDump(file);
        QVERIFY2(!dump.isEmpty(), "the independent GGUF reader failed (run scripts/fetch_fixtures.sh)");
        const QJsonObject meta = dump["metadata"].toObject();
        QCOMPARE(meta["tensor_count"].toInt(), int(f->tensors().size()));
        QCOMPARE(meta["kv_count"].toInt(), int(f->metadata().size()));
        for (const auto& kv : f->metadata()) {
            const QJsonValue theirs = meta[QString::fromStdString(kv.key)];
            if (kv.type == gguf::ValueType::Array)
                QCOMPARE(theirs.toArray().size(), kv.value.toList().size());
            else if (kv.type == gguf::ValueType::String)
                QCOMPARE(theirs.toString(), kv.value.toString());
            else if (kv.type == gguf::ValueType::Bool)
                QCOMPARE(theirs.toBool(), kv.value.toBool());
            else
                QCOMPARE(theirs.toDouble(), kv.value.toDouble());
        }
        QCOMPARE(meta["tokenizer.ggml.tokens"].toArray()[10].toString(), tokens[10].toString());
        const QJsonArray theirTensors = dump["tensors"].toArray();
        for (int i = 0; i < theirTensors.size(); ++i) {
            const QJsonObject t = theirTensors[i].toObject();
            const auto& ours = f->tensors()[std::size_t(i)];
            QCOMPARE(t["name"].toString().toStdString(), ours.name);
            QCOMPARE(t["dtype"].toInt(), int(ours.type));
            QCOMPARE(qint64(t["offset"].toDouble()), qint64(ours.offset));
            QCOMPARE(t["shape"].toArray().size(), qsizetype(ours.ne.size()));
            QCOMPARE(qint64(t["shape"].toArray()[0].toDouble()), ours.ne[0]);
        }
    }

    // llama.cpp's converter: rows (h, 2, hd/2) -> (h, hd/2, 2), i.e. HF's halves interleaved.
    void ropePermutation()
    {
        const auto p = ropeRowPermutation(2, 8), inv = ropeRowPermutation(2, 8, true);
        const std::vector<int64_t> want = {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15};
        QCOMPARE(p, want);
        for (std::size_t i = 0; i < p.size(); ++i)
            QCOMPARE(inv[std::size_t(p[i])], int64_t(i));
    }

    // Rows that are not a multiple of 32 fall back to F16, said by name.
    void narrowRowsFallBack()
    {
        QTemporaryDir dir;
        const auto s = ModelSession::open(testdata::stories260K());
        GgufExportOptions opt;
        opt.type = "Q4_0";
        const auto rep = exportGguf(s->model(), {}, dir.filePath("m.gguf").toStdString(), opt);
        QStringList warnings;
        for (const auto& w : rep.warnings)
            warnings << QString::fromStdString(w);
        QVERIFY2(warnings.contains("blk.0.ffn_down.weight: rows of 172 are not a multiple of 32 (Q4_0); written as F16"),
                 qPrintable(warnings.join("\n")));
        const auto f = gguf::File::open(dir.filePath("m.gguf").toStdString());
        QCOMPARE(gguf::typeName(f->tensor("blk.0.ffn_down.weight")->type), std::string("F16"));
        QCOMPARE(gguf::typeName(f->tensor("blk.0.ffn_up.weight")->type), std::string("Q4_0"));
        // existing output needs force; a failed write leaves nothing
        QVERIFY(testdata::throwsWith([&] { exportGguf(s->model(), {}, dir.filePath("m.gguf").toStdString(), opt); }, "m.gguf: exists; pass --force to replace it"));
        QVERIFY(testdata::throwsWith([&] { exportGguf(s->model(), {}, dir.filePath("missing/m.gguf").toStdString(), opt); }, "missing/m.gguf: cannot write (No such file or directory)"));
        QVERIFY(!QFileInfo::exists(dir.filePath("missing")));
        opt.type = "Q7_K";
        QVERIFY(QString::fromStdString(testdata::errorOf([&] { exportGguf(s->model(), {}, dir.filePath("x.gguf").toStdString(), opt); }))
                    .startsWith("unknown GGUF type 'Q7_K' (one of f32, f16, bf16, q4_0"));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);
    }

    // Byte-level BPE (Llama 3) becomes a "gpt2" vocab with merges.
    void gpt2Vocab()
    {
        const std::string dir = (testdata::root() + "/tokenizers/llama3").toStdString();
        const gguf::Vocab v = gguf::readVocab(dir, 128256, "");
        QCOMPARE(QString::fromStdString(v.model), QString("gpt2"));
        QCOMPARE(QString::fromStdString(v.pre), QString("llama-bpe"));
        QCOMPARE(v.tokens.size(), std::size_t(128256));
        const QJsonObject tj = testdata::readJson(QString::fromStdString(dir) + "/tokenizer.json").object();
        QCOMPARE(qsizetype(v.merges.size()), tj["model"].toObject()["merges"].toArray().size());
        QCOMPARE(QString::fromStdString(v.tokens[128000]), QString("<|begin_of_text|>"));
        QCOMPARE(v.types[128000], 3);
        QCOMPARE(v.types[100], 1);
        QVERIFY(testdata::throwsWith([&] { gguf::readVocab(dir, 1000, ""); }, "tokenizers/llama3/tokenizer.json: token ids reach 128255 but the model has 1000 embedding rows")); // more ids than rows
    }

    // Damaged files: a clear error, never a crash.
    void hostileFiles()
    {
        QTemporaryDir dir;
        const auto s = ModelSession::open(testdata::stories260K());
        GgufExportOptions opt;
        opt.type = "Q8_0";
        const QString good = dir.filePath("good.gguf");
        exportGguf(s->model(), {}, good.toStdString(), opt);
        QFile g(good);
        QVERIFY(g.open(QIODevice::ReadOnly));
        const QByteArray bytes = g.readAll();
        auto writeAs = [&](const QByteArray& b) {
            const QString p = dir.filePath("bad.gguf");
            QFile f(p);
            f.open(QIODevice::WriteOnly | QIODevice::Truncate);
            f.write(b);
            f.close();
            return p.toStdString();
        };
        auto errorOf = [&](const QByteArray& b) -> QString {
            try {
                gguf::File::open(writeAs(b));
                return {};
            } catch (const Error& e) {
                return e.what();
            }
        };
        QVERIFY(errorOf(bytes.left(bytes.size() / 2)).contains("bad.gguf"));
        QVERIFY(errorOf(bytes.left(bytes.size() / 2)).contains("beyond the end"));
        QVERIFY2(errorOf(bytes.left(3000)).contains("past the end"), qPrintable(errorOf(bytes.left(3000))));
        QVERIFY2(errorOf(bytes.left(100)).contains("count"), qPrintable(errorOf(bytes.left(100))));
        QVERIFY(errorOf(QByteArray("GGUX") + bytes.mid(4)).contains("bad magic"));
        QByteArray v2 = bytes;
        v2[4] = 2;
        QVERIFY(errorOf(v2).contains("version 2"));
        QByteArray many = bytes;
        const uint64_t huge = uint64_t(1) << 60;
        std::memcpy(many.data() + 8, &huge, 8);
        QVERIFY(errorOf(many).contains("count"));
        // random damage anywhere in the header and tensor table: an error or a valid file, never a crash
        QRandomGenerator rng(7);
        const int headerEnd = 40000 < bytes.size() ? 40000 : int(bytes.size());
        int refused = 0;
        for (int i = 0; i < 400; ++i) {
            QByteArray b = bytes;
            for (int k = 0; k < 4; ++k)
                b[int(rng.bounded(headerEnd))] = char(rng.bounded(256));
            try {
                const auto f = gguf::File::open(writeAs(b));
                for (const auto& t : f->tensors())
                    f->dequantize(t.name);
            } catch (const Error&) {
                ++refused;
            }
        }
        qInfo("random header damage: %d of 400 files refused, the rest read", refused);
        QVERIFY(refused > 0);
    }
};

QTEST_GUILESS_MAIN(TestGguf)
#include "test_gguf.moc"
