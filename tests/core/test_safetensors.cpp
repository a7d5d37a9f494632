// safetensors and checkpoint validation: every broken variant is generated into
// a temporary directory and must be refused with a message naming file and
// tensor (#2). Pattern after llama.cpp's tests/test-gguf.cpp.
#include "core/model/checkpoint.h"
#include "core/util/error.h"
#include "core/formats/safetensors_reader.h"
#include "core/formats/safetensors_writer.h"
#include "test_data.h"

#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

using namespace tailor;

namespace {

enum class Broken {
    TooShort, HeaderBeyondFile, HeaderOver100MB, NotJson, NotObject, UnknownDType, SpanMismatch,
    OutsideData, Overlap, MissingOffsets, NegativeDim, TruncatedData,
};

std::vector<float> a(6, 1.5f), b(4, -2.0f);

std::string fileBytes(const std::string& headerJson, const std::string& data)
{
    std::string out(8, '\0');
    const uint64_t n = headerJson.size();
    for (int i = 0; i < 8; ++i)
        out[i] = char((n >> (8 * i)) & 0xff);
    return out + headerJson + data;
}

std::string validData()
{
    return std::string(reinterpret_cast<const char*>(a.data()), 24) +
           std::string(reinterpret_cast<const char*>(b.data()), 16);
}

std::string brokenFile(Broken k)
{
    const std::string data = validData();
    auto hdr = [](const std::string& aEntry) {
        return "{\"a\":" + aEntry + ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]}}";
    };
    const std::string goodA = "{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";
    switch (k) {
    case Broken::TooShort: return "abc";
    case Broken::HeaderBeyondFile: {
        std::string s = fileBytes(hdr(goodA), data);
        s[0] = char(0xff); s[1] = char(0xff); s[2] = char(0x0f);
        return s;
    }
    case Broken::HeaderOver100MB: {
        std::string s = fileBytes(hdr(goodA), data);
        const uint64_t n = 200ull * 1000 * 1000;
        for (int i = 0; i < 8; ++i)
            s[i] = char((n >> (8 * i)) & 0xff);
        return s;
    }
    case Broken::NotJson: return fileBytes("{\"a\": {\"dtype\": ", data);
    case Broken::NotObject: return fileBytes("[1,2,3]", data);
    case Broken::UnknownDType: return fileBytes(hdr("{\"dtype\":\"F8_E9\",\"shape\":[2,3],\"data_offsets\":[0,24]}"), data);
    case Broken::SpanMismatch: return fileBytes(hdr("{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[0,24]}"), data);
    case Broken::OutsideData: return fileBytes(hdr("{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[40,64]}"), data);
    case Broken::Overlap: return fileBytes(hdr("{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]}"), data);
    case Broken::MissingOffsets: return fileBytes(hdr("{\"dtype\":\"F32\",\"shape\":[2,3]}"), data);
    case Broken::NegativeDim: return fileBytes(hdr("{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,24]}"), data);
    case Broken::TruncatedData: return fileBytes(hdr(goodA), data.substr(0, 30));
    }
    return {};
}

void writeFile(const QString& path, const std::string& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes.data(), qint64(bytes.size()));
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTrip()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("x.safetensors").toStdString();
        writeSafetensors(path, {{"a", DType::F32, {2, 3}, a.data(), 24}, {"b", DType::F32, {4}, b.data(), 16}},
                         {{"format", "pt"}});
        auto f = SafetensorsFile::open(path);
        QCOMPARE(int(f->tensors().size()), 2);
        const TensorInfo* t = f->find("b");
        QVERIFY(t);
        QCOMPARE(t->shape, std::vector<int64_t>({4}));
        QCOMPARE(static_cast<const float*>(t->data)[3], -2.0f);
        QCOMPARE(f->metadata().at("format"), std::string("pt"));
    }

    void broken_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("too short") << int(Broken::TooShort) << "truncated";
        QTest::newRow("header beyond file") << int(Broken::HeaderBeyondFile) << "past the end";
        QTest::newRow("header over 100MB") << int(Broken::HeaderOver100MB) << "100 MB";
        QTest::newRow("not json") << int(Broken::NotJson) << "not valid JSON";
        QTest::newRow("not object") << int(Broken::NotObject) << "not a JSON object";
        QTest::newRow("unknown dtype") << int(Broken::UnknownDType) << "tensor 'a': unknown dtype 'F8_E9'";
        QTest::newRow("span mismatch") << int(Broken::SpanMismatch) << "tensor 'a': byte span";
        QTest::newRow("outside data") << int(Broken::OutsideData) << "tensor 'a'";
        QTest::newRow("overlap") << int(Broken::Overlap) << "overlaps";
        QTest::newRow("missing offsets") << int(Broken::MissingOffsets) << "data_offsets";
        QTest::newRow("negative dim") << int(Broken::NegativeDim) << "shape";
        QTest::newRow("truncated data") << int(Broken::TruncatedData) << "outside the data section";
    }
    void broken()
    {
        QFETCH(int, kind);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        const QString path = dir.filePath("bad.safetensors");
        writeFile(path, brokenFile(Broken(kind)));
        try {
            SafetensorsFile::open(path.toStdString());
            QFAIL("accepted a broken file");
        } catch (const Error& e) {
            const QString msg = e.what();
            QVERIFY2(msg.contains("bad.safetensors"), qPrintable(msg));
            QVERIFY2(msg.contains(mentions), qPrintable(msg));
        }
    }

    // 1,000 random mutations of a valid header: each is accepted or refused
    // with an Error; never a crash or a hang.
    void randomHeaderMutations()
    {
        QTemporaryDir dir;
        const std::string good = fileBytes(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]}}",
            validData());
        QRandomGenerator rng(1234);
        int refused = 0;
        for (int i = 0; i < 1000; ++i) {
            std::string s = good;
            const int edits = 1 + int(rng.bounded(4));
            for (int e = 0; e < edits; ++e) {
                const int pos = int(rng.bounded(quint32(8 + 100)));
                s[pos] = char(rng.bounded(256));
            }
            const QString path = dir.filePath(QString("m%1.safetensors").arg(i));
            writeFile(path, s);
            try {
                auto f = SafetensorsFile::open(path.toStdString());
                for (const auto& t : f->tensors())
                    QVERIFY(t.offset + t.bytes <= f->fileSize());
            } catch (const Error&) {
                ++refused;
            }
        }
        qInfo("refused %d of 1000 mutated headers", refused);
        QVERIFY(refused > 500);
    }

    void checkpointErrors_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("missing tensor") << "missing-tensor" << "model.layers.3.mlp.down_proj.weight' is missing";
        QTest::newRow("wrong shape") << "wrong-shape" << "has shape [172, 64], but";
        QTest::newRow("config missing key") << "config-missing" << "key 'hidden_size' is missing";
        QTest::newRow("config wrong type") << "config-type" << "key 'num_hidden_layers' must be an integer";
        QTest::newRow("unsupported arch") << "arch" << "model_type 'gpt2' is not supported";
        QTest::newRow("no model") << "empty" << "config.json is missing";
        QTest::newRow("no safetensors") << "no-weights" << "no *.safetensors";
    }
    void checkpointErrors()
    {
        QFETCH(QString, what);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        const QDir src(QString::fromStdString(testdata::stories260K()));
        QFile cfgFile(src.filePath("config.json"));
        QVERIFY(cfgFile.open(QIODevice::ReadOnly));
        QJsonObject cfg = QJsonDocument::fromJson(cfgFile.readAll()).object();
        if (what == "config-missing")
            cfg.remove("hidden_size");
        if (what == "config-type")
            cfg["num_hidden_layers"] = "five";
        if (what == "arch")
            cfg["model_type"] = "gpt2";
        if (what != "empty")
            writeFile(dir.filePath("config.json"), QJsonDocument(cfg).toJson().toStdString());
        if (what != "empty" && what != "no-weights") {
            auto f = SafetensorsFile::open(src.filePath("model.safetensors").toStdString());
            std::vector<TensorToWrite> ts;
            for (const auto& t : f->tensors()) {
                if (what == "missing-tensor" && t.name == "model.layers.3.mlp.down_proj.weight")
                    continue;
                TensorToWrite w{t.name, t.dtype, t.shape, t.data, t.bytes};
                if (what == "wrong-shape" && t.name == "model.layers.1.mlp.down_proj.weight")
                    w.shape = {t.shape[1], t.shape[0]};
                ts.push_back(w);
            }
            writeSafetensors(dir.filePath("model.safetensors").toStdString(), ts);
        }
        try {
            Checkpoint::open(dir.path().toStdString());
            QFAIL("accepted a broken checkpoint");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
        }
    }

    void shardedCheckpoint()
    {
        // Split stories260K over two shards with an index: same tensors, same bytes.
        QTemporaryDir dir;
        const QDir src(QString::fromStdString(testdata::stories260K()));
        QFile::copy(src.filePath("config.json"), dir.filePath("config.json"));
        auto f = SafetensorsFile::open(src.filePath("model.safetensors").toStdString());
        std::vector<TensorToWrite> part[2];
        QJsonObject map;
        for (const auto& t : f->tensors()) {
            const int s = blockOf(t.name) >= 3 ? 1 : 0;
            part[s].push_back({t.name, t.dtype, t.shape, t.data, t.bytes});
            map[QString::fromStdString(t.name)] = QString("model-0000%1-of-00002.safetensors").arg(s + 1);
        }
        writeSafetensors(dir.filePath("model-00001-of-00002.safetensors").toStdString(), part[0]);
        writeSafetensors(dir.filePath("model-00002-of-00002.safetensors").toStdString(), part[1]);
        writeFile(dir.filePath("model.safetensors.index.json"),
                  QJsonDocument(QJsonObject{{"weight_map", map}}).toJson().toStdString());
        auto ck = Checkpoint::open(dir.path().toStdString());
        QCOMPARE(int(ck->files().size()), 2);
        QCOMPARE(ck->tensors().size(), f->tensors().size());
        const auto& t = ck->get("model.layers.4.mlp.up_proj.weight");
        QCOMPARE(std::memcmp(t.info->data, f->find("model.layers.4.mlp.up_proj.weight")->data, t.info->bytes), 0);
    }

private:
    static int blockOf(const std::string& n)
    {
        return n.rfind("model.layers.", 0) == 0 ? std::atoi(n.c_str() + 13) : -1;
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
