// llama.cpp itself as the oracle for GGUF exports (#15): the prebuilt libllama
// of node-llama-cpp 3.21.1 (scripts/fetch_fixtures.sh). For every file type
// llama-quantize offers here, with and without an importance matrix made by
// Tailor, llama_model_quantize applied to Tailor's F32 export must give the
// same tensor names, types and bytes as Tailor's direct export, on
// stories260K, tinystories-12L and a synthetic checkpoint whose rows are
// multiples of 256 (so that every K-quant path runs rather than falling back).
#include "core/error.h"
#include "core/gguf/gguf_export.h"
#include "core/gguf/gguf_mixture.h"
#include "core/gguf/gguf_reader.h"
#include "core/gguf/imatrix.h"
#include "core/model.h"
#include "core/model_session.h"
#include "core/synthetic_checkpoint.h"
#include "test_data.h"

#include <llama.h>

#include <QDir>
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <map>
#include <memory>

using namespace tailor;

namespace {

void quiet(ggml_log_level level, const char* text, void*)
{
    if (level == GGML_LOG_LEVEL_ERROR)
        std::fputs(text, stderr);
}

// Same names, types and bytes; otherwise what differs first.
QString compareGguf(const std::string& ours, const std::string& theirs)
{
    const auto a = gguf::File::open(ours), b = gguf::File::open(theirs);
    if (a->tensors().size() != b->tensors().size())
        return QString("%1 tensors vs llama.cpp's %2").arg(a->tensors().size()).arg(b->tensors().size());
    for (const auto& t : a->tensors()) {
        const gguf::TensorInfo* u = b->tensor(t.name);
        if (!u)
            return QString("llama.cpp's file has no %1").arg(t.name.c_str());
        if (t.type != u->type)
            return QString("%1: %2 vs llama.cpp's %3").arg(t.name.c_str(), gguf::typeName(t.type).c_str(), gguf::typeName(u->type).c_str());
        if (t.ne != u->ne || t.bytes != u->bytes)
            return QString("%1: shape or size differs").arg(t.name.c_str());
        if (std::memcmp(a->data(t), b->data(*u), std::size_t(t.bytes)) != 0)
            return QString("%1 (%2): bytes differ").arg(t.name.c_str(), gguf::typeName(t.type).c_str());
    }
    return {};
}

struct Prepared {
    std::shared_ptr<ModelSession> session;
    std::string f32;  // Tailor's F32 export, llama-quantize's input
    Imatrix imatrix;  // made by Tailor on calibration text
};

} // namespace

class TestLlamaOracle : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    std::map<QString, Prepared> models_;

    Prepared& prepared(const QString& name)
    {
        auto it = models_.find(name);
        if (it != models_.end())
            return it->second;
        std::string dir;
        if (name == "stories260K")
            dir = testdata::stories260K();
        else if (name == "tinystories-12L")
            dir = testdata::tinystories12L();
        else { // rows of 256 and 512: every K type runs as itself; untied output; GQA 4
            dir = tmp_.filePath("synthetic-256").toStdString();
            SyntheticShape s;
            s.hidden = 256, s.intermediate = 512, s.n_layer = 16, s.n_head = 4, s.n_head_kv = 1, s.vocab = 512, s.tied = false;
            writeSyntheticCheckpoint(dir, s, "F32", testdata::tinystories12L());
        }
        Prepared p;
        p.session = ModelSession::open(dir);
        p.f32 = tmp_.filePath(name + "-f32.gguf").toStdString();
        GgufExportOptions o;
        o.type = "f32";
        exportGguf(p.session->model(), {}, p.f32, o);
        CalibOptions co;
        co.windows = 4;
        co.seq_len = 128;
        p.imatrix = computeImatrix(p.session->model(), p.session->calibration(testdata::calibText(), co), "calib");
        return models_.emplace(name, std::move(p)).first->second;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        llama_log_set(quiet, nullptr);
        llama_backend_init();
    }

    void quantizeEqualsLlamaQuantize_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("type");
        QTest::addColumn<bool>("withImatrix");
        for (const char* model : {"stories260K", "tinystories-12L", "synthetic-256"})
            for (const auto& mix : gguf::mixtures())
                for (bool im : {false, true}) {
                    if (im && !gguf::typeInfo(mix.base).quantized)
                        continue; // float types take no importance matrix
                    QTest::newRow(QString("%1 %2%3").arg(model, mix.name, im ? " imatrix" : "").toUtf8()) << model << mix.name << im;
                }
    }

    void quantizeEqualsLlamaQuantize()
    {
        QFETCH(QString, model);
        QFETCH(QString, type);
        QFETCH(bool, withImatrix);
        Prepared& p = prepared(model);
        const gguf::Mixture& mix = gguf::mixture(type.toStdString());
        const std::string tag = (model + "-" + type + (withImatrix ? "-im" : "")).toStdString();
        const std::string ours = tmp_.filePath(QString::fromStdString(tag + "-tailor.gguf")).toStdString();
        const std::string theirs = tmp_.filePath(QString::fromStdString(tag + "-llama.gguf")).toStdString();

        GgufExportOptions o;
        o.type = mix.name;
        o.imatrix = withImatrix ? &p.imatrix : nullptr;
        exportGguf(p.session->model(), {}, ours, o);

        // llama-quantize's path: the importance weights as its tool loads them (sums / count)
        std::vector<std::vector<float>> keep;
        std::vector<llama_model_imatrix_data> entries;
        if (withImatrix) {
            for (const auto& [name, e] : p.imatrix.entries) {
                keep.push_back(p.imatrix.weights(name));
                entries.push_back({name.c_str(), keep.back().data(), keep.back().size()});
            }
            entries.push_back({nullptr, nullptr, 0});
        }
        llama_model_quantize_params qp = llama_model_quantize_default_params();
        qp.ftype = llama_ftype(mix.ftype);
        qp.nthread = 2;
        qp.imatrix = withImatrix ? entries.data() : nullptr;
        QCOMPARE(llama_model_quantize(p.f32.c_str(), theirs.c_str(), &qp), 0u);

        const QString diff = compareGguf(ours, theirs);
        if (!diff.isEmpty())
            QFAIL(qPrintable(QString::fromStdString(tag) + ": " + diff));
        const auto f = gguf::File::open(ours);
        QCOMPARE(f->find("general.file_type")->value.toLongLong(), qint64(mix.ftype));
        if (withImatrix && model == "synthetic-256") {
            // the importance weights did change the file (the imatrix path ran, not only the plain one)
            const std::string plain = tmp_.filePath(QString::fromStdString(tag + "-plain.gguf")).toStdString();
            GgufExportOptions po;
            po.type = mix.name;
            exportGguf(p.session->model(), {}, plain, po);
            const bool onlyQ8 = mix.base == gguf::TensorType::Q8_0; // Q8_0 takes no weights
            QCOMPARE(compareGguf(ours, plain).isEmpty(), onlyQ8);
            QFile::remove(QString::fromStdString(plain));
        }
        QFile::remove(QString::fromStdString(ours));
        QFile::remove(QString::fromStdString(theirs));
    }

    // Per-tensor overrides (llama-quantize --tensor-type) and dropped blocks,
    // with an importance matrix named after the source model's blocks.
    void overridesAndDropsEqualLlamaQuantize()
    {
        Prepared& p = prepared("synthetic-256");
        const std::vector<int> drop = {3, 9};
        const std::vector<std::string> specs = {"attn_v=q8_0", "blk\\.1[0-3]\\.ffn_down=q2_k", "output=q5_k", "attn_q=q4_k"};
        GgufExportOptions o;
        o.type = "q4_k_m";
        o.imatrix = &p.imatrix;
        for (const auto& spec : specs)
            o.overrides.push_back(gguf::parseTypeOverride(spec));
        const std::string ours = tmp_.filePath("overrides-tailor.gguf").toStdString();
        const GgufExportReport rep = exportGguf(p.session->model(), drop, ours, o);
        int overridden = 0;
        for (const auto& t : rep.types)
            overridden += t.overridden;
        // attn_v, attn_q and (through "output") attn_output of 14 kept blocks, ffn_down of blk.10..13, output
        QCOMPARE(overridden, 14 * 3 + 4 + 1);

        // llama.cpp quantizes Tailor's F32 export of the pruned model, with the weights renamed to its blocks
        const std::string f32 = tmp_.filePath("pruned-f32.gguf").toStdString();
        GgufExportOptions fo;
        fo.type = "f32";
        exportGguf(p.session->model(), drop, f32, fo);
        std::vector<std::string> names;
        std::vector<std::vector<float>> keep;
        int j = 0;
        for (int b = 0; b < p.session->model().nBlocks(); ++b) {
            if (std::find(drop.begin(), drop.end(), b) != drop.end())
                continue;
            for (const auto& [name, e] : p.imatrix.entries)
                if (name.rfind("blk." + std::to_string(b) + ".", 0) == 0) {
                    names.push_back("blk." + std::to_string(j) + name.substr(name.find('.', 4)));
                    keep.push_back(p.imatrix.weights(name));
                }
            ++j;
        }
        std::vector<llama_model_imatrix_data> entries;
        for (std::size_t i = 0; i < names.size(); ++i)
            entries.push_back({names[i].c_str(), keep[i].data(), keep[i].size()});
        entries.push_back({nullptr, nullptr, 0});
        std::vector<llama_model_tensor_override> tt;
        for (const auto& ov : o.overrides)
            tt.push_back({ov.pattern.c_str(), ggml_type(ov.type)});
        tt.push_back({nullptr, GGML_TYPE_COUNT});
        llama_model_quantize_params qp = llama_model_quantize_default_params();
        qp.ftype = LLAMA_FTYPE_MOSTLY_Q4_K_M;
        qp.nthread = 2;
        qp.imatrix = entries.data();
        qp.tt_overrides = tt.data();
        const std::string theirs = tmp_.filePath("overrides-llama.gguf").toStdString();
        QCOMPARE(llama_model_quantize(f32.c_str(), theirs.c_str(), &qp), 0u);
        const QString diff = compareGguf(ours, theirs);
        if (!diff.isEmpty())
            QFAIL(qPrintable(diff));
    }

    void badImatrixRefused()
    {
        Prepared& small = prepared("stories260K");
        Prepared& other = prepared("tinystories-12L");
        GgufExportOptions o;
        o.type = "q4_0";
        o.imatrix = &other.imatrix; // another model: 12 blocks of 128 columns
        const std::string out = tmp_.filePath("bad.gguf").toStdString();
        const QString e = QString::fromStdString(testdata::errorOf([&] { exportGguf(small.session->model(), {}, out, o); }));
        QVERIFY2(e.contains("importance matrix: blk.0.attn_k.weight has 128 columns, the model's has 64 (made for another model?)"),
                 qPrintable(e));
        Imatrix missing = small.imatrix;
        missing.entries.erase("blk.3.ffn_down.weight");
        o.imatrix = &missing;
        const QString m = QString::fromStdString(testdata::errorOf([&] { exportGguf(small.session->model(), {}, out, o); }));
        QVERIFY2(m.contains("no entry for blk.3.ffn_down.weight"), qPrintable(m));
        QVERIFY(!QFile::exists(QString::fromStdString(out)));
    }
};

QTEST_GUILESS_MAIN(TestLlamaOracle)
#include "test_llama_oracle.moc"
