// Compression plans and Hugging Face export (#7): drop -> export -> reopen
#include <ATen/ATen.h>
// gives the in-memory perplexity; sharded export; refusals leave nothing behind.
#include "core/compress/apply_plan.h"
#include "core/compress/plan_prediction.h"
#include "core/util/error.h"
#include "core/export/hf_export.h"
#include "core/export/gguf_export.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "test_data.h"

#include <QDir>
#include <csignal>
#include <sys/resource.h>
#include <QTemporaryDir>
#include <QtTest>

using namespace tailor;

namespace {
CompressionPlan planFor(const std::string& model, const QJsonObject& extra = {})
{
    QJsonObject o = extra;
    o["model"] = QString::fromStdString(model);
    return CompressionPlan::fromJson(o, "plan.json");
}

// The first ~16 KB of the validation text (whole lines; ~4k tokens, 16 windows
// of 256): what these tests compare, in-memory against reopened, needs no more,
// and every stage of a plan evaluates it twice (base and model).
std::string shortValidText(const QTemporaryDir& dir)
{
    QFile in(QString::fromStdString(testdata::validText()));
    if (!in.open(QIODevice::ReadOnly))
        return {};
    QByteArray text = in.read(16384);
    text.truncate(text.lastIndexOf('\n') + 1);
    const QString path = dir.filePath("valid-short.txt");
    QFile out(path);
    if (!out.open(QIODevice::WriteOnly) || out.write(text) != text.size())
        return {};
    return path.toStdString();
}
} // namespace

class TestExport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void dropExportReopen()
    {
        QTemporaryDir dir;
        const auto s = ModelSession::open(testdata::stories260K());
        const CompressionPlan plan = planFor(testdata::stories260K(), {{"drop_blocks", QJsonArray{2}}});
        const AppliedPlan a = applyPlan(*s, plan, testdata::validText());
        QCOMPARE(int(a.stages.size()), 2);
        const double inMemory = a.stages.back().ppl;
        HfExportOptions eo;
        eo.dtype = "F32";
        const std::string out = dir.filePath("pruned").toStdString();
        exportHf(*a.model, a.drop_blocks, out, eo);
        const auto reopened = ModelSession::open(out);
        QCOMPARE(int(reopened->summary().n_layer), 4);
        EvalOptions ev;
        ev.seq_len = 256;
        const double again = evaluatePerplexity(reopened->model(), reopened->tokenizeFile(testdata::validText()), ev).ppl;
        qInfo("drop block 2: in memory %.8f, exported and reopened %.8f", inMemory, again);
        QVERIFY(testdata::relErr(again, inMemory) < 1e-5);
        QVERIFY(testdata::relErr(again, testdata::toDoubles(testdata::golden("stories260K").value("eval_ppl_L256_drop"))[2]) < 1e-4);
        QVERIFY(QFile::exists(QString::fromStdString(out) + "/README.md"));
        QVERIFY(QFile::exists(QString::fromStdString(out) + "/tokenizer.json"));
    }

    // The Compress view's prediction (predictPlan, from shapes alone) equals what
    // the run counts: drop, per-block widths, low rank and quantization together.
    void predictionMatchesRun()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        const int L = int(s->summary().n_layer);
        WidthPlan w;
        w.groups.assign(std::size_t(L), {});
        w.channels.assign(std::size_t(L), {0, 1, 2, 3, 4, 5, 6, 7});
        w.groups[3] = {0};
        w.channels[5] = {9};
        CompressionPlan plan = planFor(testdata::tinystories12L(),
            {{"drop_blocks", QJsonArray{6, 10}},
             {"ranks", QJsonObject{{"model.layers.4.mlp.up_proj.weight", 32}, {"model.layers.9.self_attn.q_proj.weight", 16}}},
             {"quant", QJsonObject{{"scheme", "int8_sym_channel"}}}});
        plan.width = w;
        const PlanPrediction p = predictPlan(*s, plan);
        QTemporaryDir dir;
        const AppliedPlan a = applyPlan(*s, plan, shortValidText(dir)); // (the low rank calibrates on it)
        QCOMPARE(a.stages.back().stage, std::string("quant"));
        qInfo("predicted %lld parameters, %.0f bytes; the run: %lld, %.0f", (long long)p.parameters_after, p.bytes,
              (long long)a.stages.back().parameters, a.stages.back().size_bytes);
        QCOMPARE(p.parameters_before, a.stages.front().parameters);
        QCOMPARE(p.parameters_after, a.stages.back().parameters);
        QVERIFY(testdata::relErr(p.bytes, a.stages.back().size_bytes) < 0.01);
        QVERIFY(p.decode_speedup > 1.1);
        // a plan that does not fit the model is refused with the same message as the run's
        CompressionPlan bad = plan;
        bad.drop_blocks = {40};
        QVERIFY(testdata::throwsWith([&] { predictPlan(*s, bad); }, "block 40"));
    }

    // Low-rank layers exported factored (lora_A / lora_B) reopen to the same model,
    // also after healing (the adapters join the factors: rank k + r).
    void factoredExportReopens()
    {
        QTemporaryDir dir;
        const std::string valid = shortValidText(dir);
        QVERIFY(!valid.empty());
        const auto s = ModelSession::open(testdata::tinystories12L());
        const std::string up = "model.layers.4.mlp.up_proj.weight", q = "model.layers.9.self_attn.q_proj.weight";
        const CompressionPlan plan = planFor(testdata::tinystories12L(),
            {{"drop_blocks", QJsonArray{6}}, {"ranks", QJsonObject{{QString::fromStdString(up), 32}, {QString::fromStdString(q), 16}}},
             {"heal", QJsonObject{{"text", QString::fromStdString(testdata::calibText())}, {"steps", 5}, {"rank", 4}}}});
        const AppliedPlan a = applyPlan(*s, plan, valid);
        QCOMPARE(a.stages.back().stage, std::string("heal"));
        QCOMPARE(a.model->factors(up).first.size(1), int64_t(32 + 4));
        HfExportOptions eo;
        eo.dtype = "F32";
        eo.factored = true;
        const std::string out = dir.filePath("factored").toStdString();
        exportHf(*a.model, a.drop_blocks, out, eo);
        const auto reopened = ModelSession::open(out);
        // renumbered: block 9 is block 8 after dropping 6
        const auto& ck = reopened->model().checkpoint();
        QVERIFY(ck.find("model.layers.4.mlp.up_proj.lora_A.weight") && ck.find("model.layers.4.mlp.up_proj.lora_B.weight"));
        QVERIFY(!ck.find(up));
        QCOMPARE(ck.find("model.layers.8.self_attn.q_proj.lora_B.weight")->info->shape, (std::vector<int64_t>{128, 16 + 4}));
        QCOMPARE(int(ck.factoredWeights().size()), 2);
        EvalOptions ev;
        ev.seq_len = 256;
        const double again = evaluatePerplexity(reopened->model(), reopened->tokenizeFile(valid), ev).ppl;
        qInfo("factored export: in memory %.8f, reopened %.8f", a.stages.back().ppl, again);
        QVERIFY(testdata::relErr(again, a.stages.back().ppl) < 1e-5);
        QVERIFY(QFileInfo(QString::fromStdString(out) + "/model.safetensors").size() <
                QFileInfo(QString::fromStdString(testdata::tinystories12L()) + "/model.safetensors").size() * 2);
        const QByteArray card = [&] {
            QFile f(QString::fromStdString(out) + "/README.md");
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        QVERIFY(card.contains("lora_B.weight"));
    }

    // A full disk, simulated with a file-size limit (writes fail with EFBIG as
    // they would with ENOSPC): a clear error, and neither a folder nor a file left.
    void fullDiskLeavesNothing()
    {
        QTemporaryDir dir;
        const auto s = ModelSession::open(testdata::tinystories12L());
        rlimit old{};
        getrlimit(RLIMIT_FSIZE, &old);
        signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = 256 * 1024;
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
        HfExportOptions eo;
        eo.dtype = "F32";
        QString hfError, ggufError;
        try {
            exportHf(s->model(), {}, dir.filePath("hf").toStdString(), eo);
        } catch (const Error& e) {
            hfError = e.what();
        }
        try {
            GgufExportOptions go;
            go.type = "F32";
            exportGguf(s->model(), {}, dir.filePath("m.gguf").toStdString(), go);
        } catch (const Error& e) {
            ggufError = e.what();
        }
        setrlimit(RLIMIT_FSIZE, &old);
        qInfo("HF: %s", qPrintable(hfError));
        qInfo("GGUF: %s", qPrintable(ggufError));
        QVERIFY(!hfError.isEmpty() && !ggufError.isEmpty());
        QVERIFY(ggufError.contains("m.gguf") && hfError.contains("/hf: cannot write") && hfError.contains("nothing was written"));
        const QStringList left = QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
        QVERIFY2(left.isEmpty(), qPrintable(left.join(", ")));
    }

    void fullPlanShardedBf16()
    {
        QTemporaryDir dir;
        const std::string valid = shortValidText(dir);
        QVERIFY(!valid.empty());
        const auto s = ModelSession::open(testdata::tinystories12L());
        const CompressionPlan plan = planFor(testdata::tinystories12L(),
            {{"drop_blocks", QJsonArray{5, 7}}, {"calib", QString::fromStdString(testdata::calibText())},
             {"ranks", QJsonObject{{"model.layers.4.mlp.up_proj.weight", 64}}}, {"whiten", true},
             {"quant", QJsonObject{{"scheme", "int8_sym_channel"}, {"method", "gptq"}}}});
        const AppliedPlan a = applyPlan(*s, plan, valid);
        QCOMPARE(int(a.stages.size()), 4);
        QCOMPARE(a.stages[3].stage, std::string("quant"));
        QCOMPARE(a.stages[1].parameters, a.stages[0].parameters - 2 * 184576);
        QCOMPARE(a.stages[2].parameters, a.stages[1].parameters - (352 * 128 - 64 * (352 + 128)));
        HfExportOptions eo;
        eo.shard_bytes = 1 << 20; // force several shards
        const std::string out = dir.filePath("small").toStdString();
        exportHf(*a.model, a.drop_blocks, out, eo);
        QVERIFY(QFile::exists(QString::fromStdString(out) + "/model.safetensors.index.json"));
        const auto reopened = ModelSession::open(out);
        QCOMPARE(int(reopened->summary().n_layer), 10);
        QCOMPARE(QString::fromStdString(reopened->summary().dtype), QString("BF16"));
        EvalOptions ev;
        ev.seq_len = 256;
        const double again = evaluatePerplexity(reopened->model(), reopened->tokenizeFile(valid), ev).ppl;
        // BF16 rounding of the exported weights moves the figure slightly
        QVERIFY(std::abs(again / a.stages.back().ppl - 1) < 0.01);
    }

    void refusals()
    {
        QTemporaryDir dir;
        const auto s = ModelSession::open(testdata::stories260K());
        const auto model = s->model().derive();
        HfExportOptions eo;
        const std::string out = dir.filePath("existing").toStdString();
        QDir().mkpath(QString::fromStdString(out));
        try {
            exportHf(*model, {}, out, eo);
            QFAIL("overwrote without force");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("--force"), e.what());
        }
        eo.force = true;
        exportHf(*model, {}, out, eo); // replaces
        QVERIFY(QFile::exists(QString::fromStdString(out) + "/model.safetensors"));
        // a parent that is a file: refused, nothing left behind
        QFile file(dir.filePath("afile"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        QVERIFY(testdata::throwsWith([&] { exportHf(*model, {}, dir.filePath("afile/out").toStdString(), eo); }, "afile: cannot create the output's parent directory"));
        QVERIFY(testdata::throwsWith([&] { exportHf(*model, {0, 1, 2, 3, 4}, dir.filePath("none").toStdString(), eo); }, "cannot drop every block of the model"));
        QVERIFY(!QFileInfo::exists(dir.filePath("none")));
        const QStringList left = QDir(dir.path()).entryList({".tailor-export-*"}, QDir::AllEntries | QDir::Hidden);
        QVERIFY2(left.isEmpty(), qPrintable(left.join(", ")));
    }

    // Every choice a plan holds is written back (#27): a file that states every
    // key comes back identical, and the reader's plan reads back to itself.
    void planRoundTrips()
    {
        const QByteArray text =
            "{\"model\": \"m\", \"calib\": \"c.txt\", \"eval\": \"e.txt\", \"task\": \"t.jsonl\", \"drop_blocks\": [2, 5], "
            "\"ranks\": {\"model.layers.0.mlp.up_proj.weight\": 8}, \"whiten\": true, "
            "\"quant\": {\"method\": \"gptq\", \"act_order\": true, \"rules\": [{\"layers\": \"mlp\", \"scheme\": \"q4_k\"}, {\"layers\": \"\", \"scheme\": \"q8_0\"}], "
            "\"imatrix\": \"i.gguf\"}, "
            "\"heal\": {\"text\": \"h.txt\", \"rank\": 4, \"alpha\": 8, \"dropout\": 0.1, \"targets\": [\"q\", \"v\"], \"lr\": 0.001, \"weight_decay\": 0.01, "
            "\"warmup_steps\": 3, \"steps\": 7, \"epochs\": 0, \"micro_batch\": 2, \"grad_accum\": 2, \"seq_len\": 64, \"max_grad_norm\": 0.5, "
            "\"kd_weight\": 0.5, \"temperature\": 3, \"seed\": 9}, "
            "\"gguf\": {\"type\": \"q4_k_m\", \"imatrix\": \"i.gguf\", \"tensor_types\": [\"attn_v=q8_0\"]}, "
            "\"width\": {\"criterion\": \"taylor\", \"groups\": [[1], []], \"channels\": [[3, 4], [0]]}} ";
        const QJsonObject file = QJsonDocument::fromJson(text).object();
        QVERIFY(!file.isEmpty());
        const CompressionPlan p = CompressionPlan::fromJson(file, "plan.json");
        QCOMPARE(p.toJson(), file);
        QCOMPARE(CompressionPlan::fromJson(p.toJson(), "again").toJson(), p.toJson());
        QCOMPARE(p.quant->schemeFor("model.layers.0.mlp.up_proj.weight")->name(), std::string("q4_k"));
        QCOMPARE(p.quant->schemeFor("model.layers.0.self_attn.q_proj.weight")->name(), std::string("q8_0"));
    }

    void badPlans_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("no model") << R"({"drop_blocks": [1]})" << "'model'";
        QTest::newRow("block out of range") << R"({"drop_blocks": [7]})" << "block 7 is out of range";
        QTest::newRow("every block") << R"({"drop_blocks": [0,1,2,3,4]})" << "every block";
        QTest::newRow("tensor of another model") << R"({"ranks": {"model.layers.11.mlp.up_proj.weight": 8}})" << "does not have";
        QTest::newRow("rank too large") << R"({"ranks": {"model.layers.1.mlp.up_proj.weight": 100}})" << "outside 1..64";
        QTest::newRow("bad scheme") << R"({"quant": {"scheme": "int11_sym_g32"}})"
                                    << "plan.json: key 'quant.scheme': quantization to 11 bits is not supported (2 to 8 bits)";
        QTest::newRow("bad rule scheme") << R"({"quant": {"rules": [{"layers": "mlp", "scheme": "q9_9"}]}})"
                                         << "plan.json: key 'quant.rules[0].scheme': unknown quantization scheme 'q9_9'";
        // read strictly (#27): wrong types, fractions, unknown keys and bad regexes are named, never coerced
        QTest::newRow("ranks not an object") << R"({"ranks": 5})" << "plan.json: key 'ranks': expected an object, got 5";
        QTest::newRow("fractional block") << R"({"drop_blocks": [1.5]})" << "plan.json: key 'drop_blocks[0]': expected an integer, got 1.5";
        QTest::newRow("whiten as text") << R"({"whiten": "yes"})" << "plan.json: key 'whiten': expected true or false, got \"yes\"";
        QTest::newRow("unknown key") << R"({"drop_block": [1]})" << "plan.json: unknown key 'drop_block' (known: ";
        QTest::newRow("unknown quant key") << R"({"quant": {"scheme": "q8_0", "act-order": true}})" << "plan.json: unknown key 'quant.act-order'";
        QTest::newRow("bad rule regex") // not a raw string: moc loses its way in one with an open parenthesis
            << "{\"quant\": {\"rules\": [{\"layers\": \"mlp(\", \"scheme\": \"q8_0\"}]}}"
                                        << "plan.json: key 'quant.rules[0].layers': 'mlp(' is not a valid regular expression";
        QTest::newRow("fractional rank") << R"({"ranks": {"model.layers.1.mlp.up_proj.weight": 4.5}})"
                                         << "plan.json: key 'ranks.model.layers.1.mlp.up_proj.weight': expected an integer, got 4.5";
        QTest::newRow("heal steps as text") << R"({"heal": {"text": "t.txt", "steps": "200"}})" << "plan.json: key 'heal.steps': expected an integer, got \"200\"";
        QTest::newRow("bad gguf override") << R"({"gguf": {"tensor_types": ["attn_v=q9_9"]}})" << "plan.json: key 'gguf.tensor_types[0]': tensor type override";
        QTest::newRow("gptq without calib") << R"({"quant": {"scheme": "int4_sym_g32", "method": "gptq"}})" << "calib";
    }
    void badPlans()
    {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        QJsonObject o = QJsonDocument::fromJson(json.toUtf8()).object();
        if (QString(QTest::currentDataTag()) != "no model")
            o["model"] = QString::fromStdString(testdata::stories260K());
        const auto s = ModelSession::open(testdata::stories260K());
        try {
            const CompressionPlan p = CompressionPlan::fromJson(o, "plan.json");
            applyPlan(*s, p, "");
            QFAIL("accepted a bad plan");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestExport)
#include "test_export.moc"
