// GGUF files as models (#28): a GGUF opens as a ModelSession (config from its
// metadata, tokenizer from its vocabulary, weights dequantized on use) and
// computes what Tailor computes for the HF model it came from; its weights
// equal ggml's own dequantization and its tokenizer equals libllama's and the
// HF tokenizer.json. Bad files are refused naming the file and the key or tensor.
#include "core/export/gguf_export.h"
#include "core/eval/perplexity.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/formats/gguf/gguf_vocab.h"
#include "core/formats/gguf/gguf_writer.h"
#include "core/model/arch_table.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/token_windows.h"
#include "test_data.h"
#include "llama_oracle_support.h"
#include "core/analysis/imatrix.h"
#include "tests/support/synthetic_checkpoint.h"

#include <ggml.h>
#include <llama.h>

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>

using namespace tailor;
using oracle::quiet;

std::vector<int64_t> tailor::ropeRowPermutation(int64_t heads, int64_t hd, bool inverse);

namespace {

std::string qwen3Dir() { return (testdata::root() + "/models/qwen3-synthetic").toStdString(); }

// libllama's tokenization of a text (BOS as the file says, special tokens as text).
std::vector<int32_t> llamaTokenize(const std::string& file, const std::string& text)
{
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    std::unique_ptr<llama_model, void (*)(llama_model*)> model(llama_model_load_from_file(file.c_str(), mp), llama_model_free);
    if (!model)
        qFatal("libllama did not load %s", file.c_str());
    const llama_vocab* vocab = llama_model_get_vocab(model.get());
    std::vector<llama_token> ids(text.size() + 16);
    const int32_t n = llama_tokenize(vocab, text.data(), int32_t(text.size()), ids.data(), int32_t(ids.size()), true, false);
    if (n < 0)
        qFatal("llama_tokenize needs %d ids", -n);
    return std::vector<int32_t>(ids.begin(), ids.begin() + n);
}

QString firstDifference(const std::vector<int32_t>& a, const std::vector<int32_t>& b)
{
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        if (a[i] != b[i])
            return QString("id %1 differs: %2 vs %3").arg(i).arg(a[i]).arg(b[i]);
    return a.size() == b.size() ? QString() : QString("%1 ids vs %2").arg(a.size()).arg(b.size());
}

// Overwrites the first occurrence of `what` (exactly once in the file) by `with`.
void patch(const QString& file, const QByteArray& what, const QByteArray& with, qsizetype at = 0)
{
    QFile f(file);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QByteArray bytes = f.readAll();
    const qsizetype i = bytes.indexOf(what);
    QVERIFY2(i >= 0, what.constData());
    bytes.replace(i + at, with.size(), with);
    f.seek(0);
    f.write(bytes);
}

QByteArray lengthPrefixed(const QByteArray& s)
{
    const uint64_t n = uint64_t(s.size());
    return QByteArray(reinterpret_cast<const char*>(&n), 8) + s;
}

// A GGUF q or k matrix (ggml's values) back in the HF row order.
at::Tensor unpermuted(const std::vector<float>& ggml, const gguf::TensorInfo& t, const ModelConfig& c)
{
    const int64_t cols = t.ne[0], rows = t.ne[1];
    const auto inv = ropeRowPermutation(rows / c.head_dim, c.head_dim, true);
    at::Tensor hf = at::empty({rows, cols}, at::kFloat);
    for (int64_t r = 0; r < rows; ++r)
        std::memcpy(hf.data_ptr<float>() + r * cols, ggml.data() + inv[std::size_t(r)] * cols, std::size_t(cols) * 4);
    return hf;
}

QString openError(const std::string& path)
{
    try {
        ModelSession::open(path);
    } catch (const Error& e) {
        return QString::fromUtf8(e.what());
    }
    return "(opened without an error)";
}

} // namespace

class TestGgufInput : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    std::shared_ptr<ModelSession> tiny_;
    std::shared_ptr<ModelSession> synthetic_; // rows of 256: the grid types apply
    std::vector<std::pair<std::string, std::vector<float>>> syntheticImatrix_;

    std::string exported(const std::shared_ptr<ModelSession>& s, const std::string& name, const std::string& type)
    {
        const std::string file = tmp_.filePath(QString::fromStdString(name + "-" + type + ".gguf")).toStdString();
        if (!QFile::exists(QString::fromStdString(file))) {
            GgufExportOptions o;
            o.type = type;
            exportGguf(s->model(), {}, file, o);
        }
        return file;
    }

private Q_SLOTS:
    void initTestCase()
    {
        llama_log_set(quiet, nullptr);
        ggml_backend_load_all_from_path(TAILOR_LLAMA_LIB); // the CPU backend for llama_decode
        llama_backend_init();
        tiny_ = ModelSession::open(testdata::tinystories12L());
    }

    void cleanupTestCase() { llama_backend_free(); }

    // The same windows (the HF tokenizer's ids) through the GGUF model and
    // through the HF model in the file's types: F32 against the HF model
    // itself; other types against ggufQuantizedModel, the HF weights encoded
    // and decoded by Tailor's own quantizers.
    void evalEqualsHfModel_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("type");
        for (const char* t : {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q6_k", "q3_k_m", "iq4_nl", "iq4_xs"})
            QTest::newRow(QString("tinystories-12L %1").arg(t).toUtf8()) << "tinystories-12L" << t;
        for (const char* t : {"f32", "bf16", "q8_0"})
            QTest::newRow(QString("qwen3-synthetic %1").arg(t).toUtf8()) << "qwen3-synthetic" << t;
    }

    void evalEqualsHfModel()
    {
        QFETCH(QString, model);
        QFETCH(QString, type);
        const auto hf = model == "qwen3-synthetic" ? ModelSession::open(qwen3Dir()) : tiny_;
        const std::string file = exported(hf, model.toStdString(), type.toStdString());
        const auto g = ModelSession::open(file);
        QCOMPARE(g->summary().n_layer, hf->summary().n_layer);
        QCOMPARE(g->summary().model_type, hf->summary().model_type);
        QCOMPARE(g->summary().file_bytes, uint64_t(QFileInfo(QString::fromStdString(file)).size()));
        const TokenWindows w = cutWindows(hf->tokenizeFile(testdata::validText()), 128, 6, "valid");
        EvalOptions eo;
        eo.seq_len = 128;
        GgufExportOptions o;
        o.type = type.toStdString();
        const double ours = evaluateWindows(g->model(), w, eo).ppl;
        const double reference = evaluateWindows(type == "f32" ? hf->model() : *ggufQuantizedModel(hf->model(), {}, o), w, eo).ppl;
        qInfo("%s %s: GGUF %.8f, HF %.8f (rel %.2g)", qPrintable(model), qPrintable(type), ours, reference, testdata::relErr(ours, reference));
        QVERIFY(testdata::relErr(ours, reference) < (type == "f32" ? 1e-6 : type == "f16" ? 2e-5 : type == "bf16" ? 2e-4 : 2e-3));
    }

    // GGUFs in the grid i-quants made by llama-quantize itself (not by
    // Tailor's export, whose bytes test_llama_oracle compares) with importance weights
    // from a model whose rows are multiples of 256 (so the types are used,
    // not their IQ4_NL fallback): every weight equals ggml's dequantization,
    // and the perplexity equals llama_decode's on the same file within 2e-3.
    void gridTypesOpenAsLlamaCppReadsThem_data()
    {
        QTest::addColumn<int>("ftype");
        QTest::addColumn<QString>("type"); // the grid type the file must hold
        QTest::newRow("iq2_xxs") << int(LLAMA_FTYPE_MOSTLY_IQ2_XXS) << "IQ2_XXS";
        QTest::newRow("iq2_xs") << int(LLAMA_FTYPE_MOSTLY_IQ2_XS) << "IQ2_XS";
        QTest::newRow("iq2_m") << int(LLAMA_FTYPE_MOSTLY_IQ2_M) << "IQ2_S";
        // (iq1_s: its llama-quantize run alone takes ~10 s; test_llama_oracle opens
        // Tailor's byte-identical iq1_s file and checks its perplexity against llama_decode)
        QTest::newRow("iq1_m") << int(LLAMA_FTYPE_MOSTLY_IQ1_M) << "IQ1_M";
        QTest::newRow("iq3_xxs") << int(LLAMA_FTYPE_MOSTLY_IQ3_XXS) << "IQ3_XXS";
    }

    void gridTypesOpenAsLlamaCppReadsThem()
    {
        QFETCH(int, ftype);
        QFETCH(QString, type);
        if (!synthetic_) {
            const std::string dir = tmp_.filePath("synthetic-256").toStdString();
            SyntheticShape s;
            s.hidden = 256, s.intermediate = 512, s.n_layer = 4, s.n_head = 4, s.n_head_kv = 1, s.vocab = 512, s.tied = false;
            writeSyntheticCheckpoint(dir, s, "F32", testdata::tinystories12L());
            synthetic_ = ModelSession::open(dir);
            CalibOptions co;
            co.windows = 4;
            co.seq_len = 128;
            const Imatrix im = computeImatrix(synthetic_->model(), synthetic_->calibration(testdata::calibText(), co), "calib");
            for (const auto& [name, e] : im.entries)
                syntheticImatrix_.push_back({name, im.weights(name)});
        }
        const std::string f32 = exported(synthetic_, "synthetic-256", "f32");
        const std::string file = tmp_.filePath("grid-" + type + ".gguf").toStdString();
        QCOMPARE(oracle::llamaQuantize(f32, file, llama_ftype(ftype), syntheticImatrix_, {}), 0u);
        const auto f = gguf::File::open(file);
        int ofType = 0;
        for (const auto& t : f->tensors())
            ofType += gguf::typeName(t.type) == type.toStdString();
        QVERIFY2(ofType > 0, "llama-quantize wrote no tensor of the type");

        const auto g = ModelSession::open(file);
        const ModelConfig& c = g->model().config();
        int checked = 0;
        for (int b = -1; b < c.n_layer; ++b)
            for (TensorRole role : b < 0 ? globalRoles(c) : blockRoles(c)) {
                const gguf::TensorInfo* t = f->tensor(ggufTensorName(role, b));
                QVERIFY(t);
                std::vector<float> theirs(std::size_t(t->elements()));
                if (t->type == gguf::TensorType::F32)
                    std::memcpy(theirs.data(), f->data(*t), theirs.size() * 4);
                else
                    ggml_get_type_traits(ggml_type(t->type))->to_float(f->data(*t), theirs.data(), t->elements());
                const at::Tensor ours = g->model().raw(hfTensorName(role, b)).to(at::kFloat).contiguous();
                const at::Tensor hf = (role == TensorRole::AttnQ || role == TensorRole::AttnK) ? unpermuted(theirs, *t, c) : at::Tensor();
                const float* want = hf.defined() ? hf.data_ptr<float>() : theirs.data();
                QVERIFY2(std::memcmp(ours.data_ptr<float>(), want, theirs.size() * 4) == 0, t->name.c_str());
                ++checked;
            }
        QCOMPARE(checked, int(f->tensors().size()));

        const TokenWindows w = cutWindows(synthetic_->tokenizeFile(testdata::validText()), 128, 6, "valid");
        EvalOptions eo;
        eo.seq_len = 128;
        const double ours = evaluateWindows(g->model(), w, eo).ppl, theirs = oracle::llamaPerplexity(file, w);
        qInfo("%s (%d tensors of %s): Tailor %.6f, llama.cpp %.6f (rel %.2g)", QTest::currentDataTag(), ofType, qPrintable(type),
              ours, theirs, testdata::relErr(ours, theirs));
        QVERIFY(testdata::relErr(ours, theirs) < 2e-3);
    }

    // Every weight of a K-quant mixture equals ggml's dequantization of the
    // file's bytes (q and k rows back in the HF order).
    void weightsEqualGgmlDequantization()
    {
        const std::string file = exported(tiny_, "tinystories-12L", "q4_k_m");
        const auto g = ModelSession::open(file);
        const auto f = gguf::File::open(file);
        const ModelConfig& c = g->model().config();
        int checked = 0;
        for (int b = -1; b < c.n_layer; ++b)
            for (TensorRole role : b < 0 ? globalRoles(c) : blockRoles(c)) {
                const gguf::TensorInfo* t = f->tensor(ggufTensorName(role, b));
                QVERIFY(t);
                std::vector<float> theirs(std::size_t(t->elements()));
                const auto* traits = ggml_get_type_traits(ggml_type(t->type));
                if (t->type == gguf::TensorType::F32)
                    std::memcpy(theirs.data(), f->data(*t), theirs.size() * 4);
                else
                    traits->to_float(f->data(*t), theirs.data(), t->elements());
                if (role == TensorRole::AttnQ || role == TensorRole::AttnK) {
                    const int64_t cols = t->ne[0], rows = t->ne[1];
                    const auto inv = ropeRowPermutation(rows / c.head_dim, c.head_dim, true);
                    std::vector<float> hf(theirs.size());
                    for (int64_t r = 0; r < rows; ++r)
                        std::memcpy(hf.data() + r * cols, theirs.data() + inv[std::size_t(r)] * cols, std::size_t(cols) * 4);
                    theirs = hf;
                }
                const at::Tensor ours = g->model().raw(hfTensorName(role, b)).to(at::kFloat).contiguous();
                QCOMPARE(ours.numel(), int64_t(theirs.size()));
                QVERIFY2(std::memcmp(ours.data_ptr<float>(), theirs.data(), theirs.size() * 4) == 0, t->name.c_str());
                ++checked;
            }
        QCOMPARE(checked, int(f->tensors().size()));
    }

    // The GGUF's own vocabulary tokenizes as libllama does, double spaces
    // included (llama.cpp's SentencePiece tokenizer keeps both; this HF
    // tokenizer.json collapses them, so there the two differ on purpose).
    void tokenizerEqualsLlamaTokenize_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("tinystories-12L (llama, SentencePiece)") << "tinystories-12L";
        QTest::newRow("qwen3-synthetic (qwen2, byte-level BPE)") << "qwen3-synthetic";
    }

    void tokenizerEqualsLlamaTokenize()
    {
        QFETCH(QString, model);
        const auto hf = model == "qwen3-synthetic" ? ModelSession::open(qwen3Dir()) : tiny_;
        const std::string file = exported(hf, model.toStdString(), "q8_0");
        const auto tok = Tokenizer::load(file);
        for (const std::string& path : {testdata::validText(), testdata::calibText()}) {
            const std::string text = readTextFile(path);
            const std::vector<int32_t> ours = tok->encode(text), theirs = llamaTokenize(file, text);
            QVERIFY(ours.size() > 1000);
            const QString d = firstDifference(ours, theirs);
            QVERIFY2(d.isEmpty(), qPrintable(QString::fromStdString(path) + ": " + d));
            QVERIFY(tok->decode(ours) == text); // and back to the same text
        }
    }

    // The llama2-, llama3- and qwen3-style vocabularies written into a GGUF
    // (as Tailor's export writes them) give the HF tokenizer.json's ids on
    // the shipped texts.
    void tokenizerEqualsHf_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("pre");
        QTest::newRow("llama2") << "llama2" << "";
        QTest::newRow("llama3") << "llama3" << "";
        QTest::newRow("qwen3") << "qwen3" << "qwen2";
    }

    void tokenizerEqualsHf()
    {
        QFETCH(QString, name);
        QFETCH(QString, pre);
        const std::string dir = (testdata::root() + "/tokenizers/" + name).toStdString();
        const auto hf = Tokenizer::load(dir);
        const gguf::Vocab v = gguf::readVocab(dir, hf->vocabSize(), pre.toStdString());
        gguf::Writer w;
        w.addString("tokenizer.ggml.model", v.model);
        if (!v.pre.empty())
            w.addString("tokenizer.ggml.pre", v.pre);
        w.addStringArray("tokenizer.ggml.tokens", v.tokens);
        if (!v.scores.empty())
            w.addFloat32Array("tokenizer.ggml.scores", v.scores);
        w.addInt32Array("tokenizer.ggml.token_type", v.types);
        if (!v.merges.empty())
            w.addStringArray("tokenizer.ggml.merges", v.merges);
        if (v.bos >= 0)
            w.addUInt32("tokenizer.ggml.bos_token_id", uint32_t(v.bos));
        if (v.eos >= 0)
            w.addUInt32("tokenizer.ggml.eos_token_id", uint32_t(v.eos));
        if (v.unk >= 0)
            w.addUInt32("tokenizer.ggml.unknown_token_id", uint32_t(v.unk));
        w.addBool("tokenizer.ggml.add_bos_token", v.add_bos);
        const std::string file = tmp_.filePath(name + "-vocab.gguf").toStdString();
        w.write(file, true);
        const auto g = Tokenizer::load(file);
        for (const std::string& path : {testdata::validText(), testdata::calibText()}) {
            const std::string text = readTextFile(path);
            const QString d = firstDifference(g->encode(text), hf->encode(text));
            QVERIFY2(d.isEmpty(), qPrintable(QString::fromStdString(path) + ": " + d));
        }
        QCOMPARE(g->bosId(), hf->bosId());
    }

    // Bad files: each refused naming the file and the key or tensor.
    void badFilesNameTheProblem()
    {
        const std::string good = exported(tiny_, "tinystories-12L", "q8_0");
        auto copy = [&](const QString& name) {
            const QString path = tmp_.filePath(name);
            QFile::remove(path);
            QFile::copy(QString::fromStdString(good), path);
            QFile(path).setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
            return path;
        };
        auto expect = [&](const QString& path, const QStringList& parts) {
            const QString e = openError(path.toStdString());
            QVERIFY2(e.startsWith(path), qPrintable(e));
            for (const QString& p : parts)
                QVERIFY2(e.contains(p), qPrintable(e + "  [expected: " + p + "]"));
        };
        {
            const QString p = copy("arch.gguf"); // general.architecture "llama" -> "lxama"
            patch(p, lengthPrefixed("general.architecture") + QByteArray("\x08\0\0\0", 4) + lengthPrefixed("llama"), "x",
                  8 + 20 + 4 + 8 + 1);
            expect(p, {"general.architecture", "'lxama' is not supported", "llama, deci, qwen2, qwen3"});
        }
        {
            const QString p = copy("truncated.gguf");
            QFile f(p);
            QVERIFY(f.resize(f.size() - 1000));
            expect(p, {"beyond the end of the file"});
        }
        {
            const QString p = copy("type.gguf"); // output_norm.weight: 1 dimension of 128, type 99
            const QByteArray info = lengthPrefixed("output_norm.weight") + QByteArray("\x01\0\0\0", 4);
            patch(p, info, QByteArray("\x63\0\0\0", 4), info.size() + 8);
            expect(p, {"output_norm.weight", "ggml type 99"});
        }
        {
            const QString p = copy("heads.gguf"); // 4 query heads -> 8
            patch(p, lengthPrefixed("llama.attention.head_count") + QByteArray("\x04\0\0\0\x04\0\0\0", 8), QByteArray("\x08", 1),
                  8 + 26 + 4);
            expect(p, {"blk.0.attn_q.weight", "has shape [128, 128]", "implies [256, 128]", "attention.head_count"});
        }
        {
            const auto qwen = ModelSession::open(qwen3Dir());
            const QString src = QString::fromStdString(exported(qwen, "qwen3-synthetic", "q8_0")), p = tmp_.filePath("merges.gguf");
            QFile::remove(p);
            QVERIFY(QFile::copy(src, p));
            QFile(p).setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
            patch(p, "tokenizer.ggml.merges", "tokenizer.ggml.mergez");
            expect(p, {"tokenizer.ggml.merges", "missing", "needs its merges"});
        }
    }
};

QTEST_GUILESS_MAIN(TestGgufInput)
#include "test_gguf_input.moc"
