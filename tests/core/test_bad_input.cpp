// Bad-input campaigns (#13): for every parser, seeded random mutations of a
// real file (keys deleted, values of the wrong type or absurd size, bytes
// flipped, files cut short), each run through the real tailor-cli command
// (in process, through the same dispatcher as the binary). Each must end in
// exit code 0 (a still-valid file, whose results are then checked to be
// finite) or 1/2 with the error line naming the file: never a crash, a hang
// or a NaN accepted silently. Plus the hand-made hostile files that once got
// through.
#include "cli/cli_main.h"
#include "cli/command_table.h"
#include "test_data.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdio>
#include <fcntl.h>
#include <random>
#include <unistd.h>

namespace {

constexpr int kMutations = 1000;

struct Outcome {
    int code = -1;
    std::string error; // the one-line error, without the leading newline
    QByteArray out;    // stdout
};

// Runs a command line in process; stdout is captured, stderr (progress) dropped.
Outcome runCli(const QStringList& args)
{
    std::vector<std::string> argv;
    for (const QString& a : args)
        argv.push_back(a.toStdString());
    std::fflush(stdout);
    std::fflush(stderr);
    const int savedOut = dup(1), savedErr = dup(2);
    FILE* capture = std::tmpfile();
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(fileno(capture), 1);
    dup2(devnull, 2);
    Outcome o;
    o.code = tailor::cli::run(argv, &o.error);
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(savedOut, 1);
    dup2(savedErr, 2);
    close(savedOut);
    close(savedErr);
    close(devnull);
    std::rewind(capture);
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, capture)) > 0)
        o.out.append(buf, qsizetype(n));
    std::fclose(capture);
    while (!o.error.empty() && o.error.front() == '\n')
        o.error.erase(0, 1);
    return o;
}

void writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(bytes);
}

QByteArray readFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", qPrintable(path));
    return f.readAll();
}

// Values a careless or hostile writer puts where a number, string or list belongs.
QJsonValue hostileValue(std::mt19937& rng)
{
    static const QJsonValue values[] = {QJsonValue(), true, false, "", "x", "yes", QJsonArray{}, QJsonArray{1, 2},
                                        QJsonObject{}, QJsonObject{{"a", 1}}, 0, -1, 1.5, -0.5, 1e308, -1e308, 1e-300,
                                        2147483648.0, 4294967296.0, 1e15, 65536, 3};
    return values[rng() % (sizeof values / sizeof values[0])];
}

// One structural change somewhere in the JSON tree: delete a key or an
// element, or replace a value.
QJsonValue mutateJson(const QJsonValue& v, std::mt19937& rng, int depth = 0)
{
    if (v.isObject()) {
        QJsonObject o = v.toObject();
        if (o.isEmpty())
            return hostileValue(rng);
        const QStringList keys = o.keys();
        const QString k = keys[int(rng() % unsigned(keys.size()))];
        const unsigned action = rng() % 10;
        if (action == 0)
            o.remove(k);
        else if (action < 4 || depth > 6)
            o[k] = hostileValue(rng);
        else
            o[k] = mutateJson(o[k], rng, depth + 1);
        return o;
    }
    if (v.isArray()) {
        QJsonArray a = v.toArray();
        if (a.isEmpty())
            return hostileValue(rng);
        const int i = int(rng() % unsigned(a.size()));
        const unsigned action = rng() % 10;
        if (action == 0)
            a.removeAt(i);
        else if (action < 4 || depth > 6)
            a[i] = hostileValue(rng);
        else
            a[i] = mutateJson(a[i], rng, depth + 1);
        return a;
    }
    return hostileValue(rng);
}

// Byte-level damage: flips, a cut, an inserted byte.
QByteArray mutateBytes(QByteArray b, std::mt19937& rng, qsizetype within)
{
    within = std::max<qsizetype>(1, std::min(within, b.size()));
    switch (rng() % 4) {
    case 0: // flip a few bytes
        for (int i = 0, n = 1 + int(rng() % 4); i < n && !b.isEmpty(); ++i)
            b[qsizetype(rng() % quint64(within))] = char(rng());
        break;
    case 1: // cut short
        b.truncate(qsizetype(rng() % quint64(b.size() + 1)));
        break;
    case 2: // insert a byte
        b.insert(qsizetype(rng() % quint64(within)), char(rng()));
        break;
    default: // overwrite 8 bytes with an extreme integer
        if (b.size() >= 8) {
            const qsizetype at = qsizetype(rng() % quint64(std::max<qsizetype>(1, within - 7)));
            const quint64 v = rng() % 2 ? ~quint64(0) - rng() % 1000 : quint64(rng()) << 24;
            for (int i = 0; i < 8; ++i)
                b[at + i] = char((v >> (8 * i)) & 0xff);
        }
    }
    return b;
}

QByteArray mutateJsonFile(const QByteArray& base, std::mt19937& rng)
{
    if (rng() % 5 == 0)
        return mutateBytes(base, rng, base.size());
    QJsonValue v = QJsonDocument::fromJson(base).object();
    for (int i = 0, n = 1 + int(rng() % 3); i < n; ++i)
        v = mutateJson(v, rng);
    return v.isObject() ? QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact)
                        : QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
}

// An accepted plan must mean what its file says (#27): every value in the file
// stands at the same place in the plan the engine reproduces (toJson). A key
// the plan leaves out may only have held what leaving it out means: "", [], {}
// or false. Returns the first difference, empty when there is none.
QString differenceInMeaning(const QJsonValue& file, const QJsonValue& plan, const QString& at)
{
    if (plan.isUndefined()) {
        const bool empty = (file.isString() && file.toString().isEmpty()) || (file.isArray() && file.toArray().isEmpty()) ||
                           (file.isObject() && file.toObject().isEmpty()) || (file.isBool() && !file.toBool());
        return empty ? QString() : at + ": in the file, not in the plan";
    }
    if (file.isObject() && plan.isObject()) {
        const QJsonObject f = file.toObject(), p = plan.toObject();
        for (auto it = f.begin(); it != f.end(); ++it) {
            const QString d = differenceInMeaning(it.value(), p.value(it.key()), at + "." + it.key());
            if (!d.isEmpty())
                return d;
        }
        return {};
    }
    if (file.isArray() && plan.isArray()) {
        const QJsonArray f = file.toArray(), p = plan.toArray();
        if (f.size() != p.size())
            return at + QString(": %1 elements in the file, %2 in the plan").arg(f.size()).arg(p.size());
        for (int i = 0; i < f.size(); ++i) {
            const QString d = differenceInMeaning(f[i], p[i], at + QString("[%1]").arg(i));
            if (!d.isEmpty())
                return d;
        }
        return {};
    }
    if (file != plan)
        return at + ": " + QJsonDocument(QJsonArray{file}).toJson(QJsonDocument::Compact) + " in the file, " +
               QJsonDocument(QJsonArray{plan}).toJson(QJsonDocument::Compact) + " in the plan";
    return {};
}

bool finitePplIn(const QByteArray& json)
{
    const double ppl = QJsonDocument::fromJson(json).object().value("ppl").toDouble(-1);
    return std::isfinite(ppl) && ppl >= 1.0;
}

} // namespace

class TestBadInput : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString model_; // a copy of stories260K the campaigns damage file by file
    QString text_;  // a short evaluation text

    void restore(const QString& file)
    {
        QFile::remove(model_ + "/" + file);
        QVERIFY(QFile::copy(QString::fromStdString(testdata::stories260K()) + "/" + file, model_ + "/" + file));
    }

    // Exit 0, or 1/2 with an error line that names `path`.
    void checkOutcome(const Outcome& o, const QString& path, int i)
    {
        const QString ctx = QString("mutation %1: exit %2: %3").arg(i).arg(o.code).arg(QString::fromStdString(o.error));
        QVERIFY2(o.code == 0 || o.code == 1 || o.code == 2, qPrintable(ctx));
        if (o.code != 0)
            QVERIFY2(QString::fromStdString(o.error).contains(path), qPrintable(ctx + " (does not name " + path + ")"));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        model_ = tmp_.filePath("model");
        QVERIFY(QDir().mkpath(model_));
        for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
            restore(f);
        text_ = tmp_.filePath("text.txt");
        writeFile(text_, readFile(QString::fromStdString(testdata::validText())).left(3000));
        const Outcome o = runCli({"eval", model_, "--text", text_, "--seq-len", "32", "--max-windows", "4", "--json"});
        QCOMPARE(o.code, 0);
        QVERIFY(finitePplIn(o.out));
    }

    // config.json: refused naming the file (or the tensor file its sizes
    // contradict), or accepted and evaluating to a finite perplexity.
    void configCampaign()
    {
        const QString cfg = model_ + "/config.json";
        const QByteArray base = readFile(cfg);
        std::mt19937 rng(13);
        int refused = 0;
        for (int i = 0; i < kMutations; ++i) {
            writeFile(cfg, mutateJsonFile(base, rng));
            const Outcome o = runCli({"eval", model_, "--text", text_, "--seq-len", "32", "--max-windows", "2", "--json"});
            checkOutcome(o, model_, i);
            if (o.code == 0)
                QVERIFY2(finitePplIn(o.out), qPrintable(QString("mutation %1 accepted with %2: %3").arg(i).arg(QString(o.out)).arg(QString(readFile(cfg)))));
            refused += o.code != 0;
        }
        qInfo("config.json: %d of %d mutations refused, the rest evaluate to a finite PPL", refused, kMutations);
        restore("config.json");
    }

    void tokenizerCampaign()
    {
        const QString tok = model_ + "/tokenizer.json";
        const QByteArray base = readFile(tok);
        std::mt19937 rng(14);
        int refused = 0;
        for (int i = 0; i < kMutations; ++i) {
            writeFile(tok, mutateJsonFile(base, rng));
            const Outcome o = runCli({"tokenize", model_, "--string", "Once upon a time, Lily  saw\ta cat.", "--json"});
            checkOutcome(o, tok, i);
            refused += o.code != 0;
        }
        qInfo("tokenizer.json: %d of %d mutations refused", refused, kMutations);
        restore("tokenizer.json");
    }

    // The hand-made hostile tokenizers that used to be accepted or to hang.
    void hostileTokenizers_data()
    {
        QTest::addColumn<QString>("pointer");
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("says");
        QJsonArray replaces;
        for (int i = 0; i < 24; ++i)
            replaces.append(QJsonObject{{"type", "Replace"}, {"pattern", QJsonObject{{"Regex", ""}}}, {"content", "ab"}});
        const QString blowUp = QJsonDocument(QJsonArray{QJsonObject{{"type", "Sequence"}, {"normalizers", replaces}}}).toJson(QJsonDocument::Compact);
        QTest::newRow("24 empty-regex Replace") << "normalizer" << blowUp.mid(1, blowUp.size() - 2) << "matches the empty string";
        QTest::newRow("fractional id") << "model.vocab.e" << "1.5" << "not an integer";
        QTest::newRow("huge id") << "model.vocab.e" << "1e8" << "not an integer in 0 ..";
        QTest::newRow("duplicate id") << "model.vocab.e" << "3" << "have the same id 3";
        QTest::newRow("merges not a list") << "model.merges" << "5" << "model.merges must be a list";
        QTest::newRow("byte_fallback yes") << "model.byte_fallback" << "\"yes\"" << "byte_fallback must be true or false";
        QTest::newRow("model type 5") << "model.type" << "5" << "model.type must be a string";
        QTest::newRow("negative added id") << "added_tokens.0.id" << "-1" << "not a non-negative 32-bit integer";
        QTest::newRow("added id 2^31") << "added_tokens.0.id" << "2147483648" << "not a non-negative 32-bit integer";
    }
    void hostileTokenizers()
    {
        QFETCH(QString, pointer);
        QFETCH(QString, json);
        QFETCH(QString, says);
        const QString tok = model_ + "/tokenizer.json";
        QJsonObject root = QJsonDocument::fromJson(readFile(tok)).object();
        const QJsonValue value = QJsonDocument::fromJson("[" + json.toUtf8() + "]").array().first();
        // set root[pointer] (dotted path; numbers index lists)
        std::function<QJsonValue(QJsonValue, QStringList)> set = [&](QJsonValue node, QStringList path) -> QJsonValue {
            if (path.isEmpty())
                return value;
            const QString head = path.takeFirst();
            bool isIndex = false;
            const int idx = head.toInt(&isIndex);
            if (isIndex && node.isArray()) {
                QJsonArray a = node.toArray();
                a[idx] = set(a[idx], path);
                return a;
            }
            QJsonObject o = node.toObject();
            o[head] = set(o[head], path);
            return o;
        };
        root = set(root, pointer.split('.')).toObject();
        writeFile(tok, QJsonDocument(root).toJson(QJsonDocument::Compact));
        const Outcome o = runCli({"tokenize", model_, "--string", "Once upon a time", "--json"});
        restore("tokenizer.json");
        QCOMPARE(o.code, 1);
        QVERIFY2(QString::fromStdString(o.error).contains(tok), o.error.c_str());
        QVERIFY2(QString::fromStdString(o.error).contains(says), o.error.c_str());
    }

    // safetensors: damage inside the header (and the file's length) must be
    // refused naming the file; damage to weight bytes is data, not format.
    void safetensorsCampaign()
    {
        const QString st = model_ + "/model.safetensors";
        const QByteArray base = readFile(st);
        quint64 headerLen = 0;
        for (int i = 7; i >= 0; --i)
            headerLen = (headerLen << 8) | quint8(base[i]);
        std::mt19937 rng(15);
        int refused = 0;
        for (int i = 0; i < kMutations; ++i) {
            writeFile(st, mutateBytes(base, rng, qsizetype(8 + headerLen)));
            const Outcome o = runCli({"info", model_, "--json"});
            checkOutcome(o, st, i);
            refused += o.code != 0;
        }
        qInfo("model.safetensors: %d of %d header mutations refused", refused, kMutations);
        restore("model.safetensors");
    }

    void ggufCampaign()
    {
        const QString plan = tmp_.filePath("gguf-plan.json"), gguf = tmp_.filePath("model.gguf");
        writeFile(plan, QJsonDocument(QJsonObject{{"model", model_}}).toJson());
        QCOMPARE(runCli({"compress", "--plan", plan, "--out", gguf, "--format", "gguf", "--type", "f32"}).code, 0);
        const QByteArray base = readFile(gguf);
        const QString damaged = tmp_.filePath("damaged.gguf");
        std::mt19937 rng(16);
        int refused = 0;
        for (int i = 0; i < kMutations; ++i) {
            // the metadata (with the embedded tokenizer) fills the first part of the file
            writeFile(damaged, mutateBytes(base, rng, base.size() / 3));
            const Outcome o = runCli({"info", damaged, "--json"});
            checkOutcome(o, damaged, i);
            refused += o.code != 0;
        }
        qInfo("GGUF: %d of %d mutations refused", refused, kMutations);
    }

    // #27: what a command accepts and what its --help lists are one table.
    // Every listed option gets past the parser (whatever the command then
    // says about its value), an unlisted one is a usage error, and the help
    // names the options that the old hand-written usage had left out.
    // #29: a size no arm reaches, or above the dense file, is refused with
    // the reachable range before any measurement; axes are checked by name;
    // nothing is written.
    void jointPlanBadInput()
    {
        const QString demo = QString::fromStdString(testdata::tinystories12L()), calib = QString::fromStdString(testdata::calibText());
        const QString out = tmp_.filePath("joint-plan.json");
        const Outcome small = runCli({"plan", demo, "--calib", calib, "--target-size", "100K", "--out", out});
        QCOMPARE(small.code, 1);
        QVERIFY2(small.error.find("joint search: a target of 102400 bytes is outside what the axes reach: 1028960 to 4585632 bytes") !=
                     std::string::npos,
                 small.error.c_str());
        const Outcome large = runCli({"plan", demo, "--calib", calib, "--target-size", "10M", "--out", out});
        QCOMPARE(large.code, 1);
        QVERIFY2(large.error.find("is outside what the axes reach") != std::string::npos, large.error.c_str());
        const Outcome noQuant = runCli({"plan", demo, "--calib", calib, "--target-size", "q4_k_m", "--axes", "depth,width"});
        QCOMPARE(noQuant.code, 2);
        QVERIFY2(noQuant.error.find("quant is needed") != std::string::npos, noQuant.error.c_str());
        const Outcome unknown = runCli({"plan", demo, "--calib", calib, "--target-size", "q4_k_m", "--axes", "depth,heads,quant"});
        QCOMPARE(unknown.code, 2);
        QVERIFY2(unknown.error.find("'heads' is not an axis (depth, width, quant)") != std::string::npos, unknown.error.c_str());
        const Outcome both = runCli({"plan", demo, "--calib", calib, "--target-size", "q4_k_m", "--target-bpw", "4"});
        QCOMPARE(both.code, 2);
        QVERIFY(!QFileInfo::exists(out));
    }

    void helpListsWhatIsParsed()
    {
        for (const tailor::cli::CommandSpec& c : tailor::cli::commandTable()) {
            const Outcome help = runCli({c.name, "--help"});
            QCOMPARE(help.code, 0);
            for (const tailor::cli::OptionSpec& o : c.options) {
                QVERIFY2(help.out.contains(QByteArray("--") + o.name), qPrintable(QString(c.name) + " --help lacks --" + o.name));
                QStringList args{c.name, QString("--") + o.name};
                if (o.value)
                    args << "x";
                if (&c != &tailor::cli::commandSpec(c.name) && std::string(o.name) != "target-bpw")
                    args << "--target-bpw" << "4"; // quant's second form (a size budget) is chosen by its target
                const Outcome r = runCli(args);
                QVERIFY2(r.error.find("unknown option") == std::string::npos, qPrintable(QString(c.name) + ": " + QString::fromStdString(r.error)));
            }
            const Outcome bad = runCli({c.name, "--no-such-option"});
            QCOMPARE(bad.code, 2);
            QVERIFY2(bad.error.find("unknown option --no-such-option") != std::string::npos, bad.error.c_str());
            QVERIFY2(bad.error.find(std::string("usage: tailor-cli ") + c.name) != std::string::npos, bad.error.c_str());
        }
        const Outcome compress = runCli({"compress", "--help"});
        for (const char* o : {"--report DIR", "--prompt S", "--heal-seed S", "--factored", "--dry-run", "--task FILE.jsonl"})
            QVERIFY2(compress.out.contains(o), o);
    }

    void planCampaign()
    {
        const QString plan = tmp_.filePath("plan.json");
        const QString calib = QString::fromStdString(testdata::calibText());
        const QJsonObject base{{"model", model_},
                               {"calib", calib},
                               {"eval", calib},
                               {"drop_blocks", QJsonArray{2}},
                               {"ranks", QJsonObject{{"model.layers.0.mlp.up_proj.weight", 8}}},
                               {"whiten", true},
                               {"quant", QJsonObject{{"scheme", "int4_sym_g32"}, {"method", "rtn"}, {"layers", "mlp"}}},
                               {"gguf", QJsonObject{{"type", "q8_0"}, {"tensor_types", QJsonArray{"attn_v=q8_0"}}}},
                               {"heal", QJsonObject{{"text", calib}, {"steps", 2}, {"rank", 4}, {"lr", 1e-3}}}};
        writeFile(plan, QJsonDocument(base).toJson());
        const Outcome valid = runCli({"compress", "--plan", plan, "--dry-run"});
        QVERIFY2(valid.code == 0, valid.error.c_str());
        std::mt19937 rng(17);
        int refused = 0;
        for (int i = 0; i < kMutations; ++i) {
            const QByteArray file = mutateJsonFile(QJsonDocument(base).toJson(), rng);
            writeFile(plan, file);
            const Outcome o = runCli({"compress", "--plan", plan, "--dry-run"});
            checkOutcome(o, plan, i);
            refused += o.code != 0;
            if (o.code == 0) { // accepted: it must mean what the file says
                const QJsonObject read = QJsonDocument::fromJson(o.out).object().value("plan").toObject();
                const QString d = differenceInMeaning(QJsonDocument::fromJson(file).object(), read, "plan");
                QVERIFY2(d.isEmpty(), qPrintable(QString("mutation %1: accepted, but %2\nfile: %3").arg(i).arg(d, QString::fromUtf8(file))));
            }
        }
        qInfo("plans: %d of %d mutations refused", refused, kMutations);
    }

    // Any bytes are a text (invalid UTF-8 is replaced); too short a text is
    // refused naming it.
    void textCampaign()
    {
        const QByteArray base = readFile(text_);
        const QString t = tmp_.filePath("damaged.txt");
        std::mt19937 rng(18);
        int refused = 0;
        for (int i = 0; i < kMutations; ++i) {
            QByteArray b = mutateBytes(base, rng, base.size());
            if (rng() % 4 == 0) { // random binary
                b.resize(qsizetype(rng() % 400));
                for (auto& c : b)
                    c = char(rng());
            }
            writeFile(t, b);
            const Outcome o = runCli({"eval", model_, "--text", t, "--seq-len", "32", "--max-windows", "2", "--json"});
            checkOutcome(o, t, i);
            if (o.code == 0)
                QVERIFY(finitePplIn(o.out));
            refused += o.code != 0;
        }
        qInfo("texts: %d of %d refused (shorter than one window)", refused, kMutations);
    }

    // Outputs: onto the source model, into a read-only place, over an
    // existing file without --force.
    void outputs()
    {
        const QString plan = tmp_.filePath("out-plan.json");
        writeFile(plan, QJsonDocument(QJsonObject{{"model", model_}, {"drop_blocks", QJsonArray{2}}}).toJson());
        Outcome o = runCli({"compress", "--plan", plan, "--out", model_, "--force"});
        QCOMPARE(o.code, 1);
        QVERIFY2(QString::fromStdString(o.error).contains("is (or contains) the source model"), o.error.c_str());
        QVERIFY(QFile::exists(model_ + "/model.safetensors"));
        o = runCli({"compress", "--plan", plan, "--out", "/proc/self/tailor-out"});
        QCOMPARE(o.code, 1);
        QVERIFY2(QString::fromStdString(o.error).contains("/proc/self"), o.error.c_str());
        o = runCli({"compress", "--plan", plan, "--out", plan});
        QCOMPARE(o.code, 1);
        QVERIFY2(QString::fromStdString(o.error).contains("already exists"), o.error.c_str());
    }
};

QTEST_GUILESS_MAIN(TestBadInput)
#include "test_bad_input.moc"
