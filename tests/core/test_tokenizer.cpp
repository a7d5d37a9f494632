// Tokenizer exactness against Hugging Face's reference implementation (#3):
// ids of tests/data/golden/tokenizers for four tokenizer.json files, the ids of
// the two TinyStories texts, decode round trips and bad input.
#include "core/util/error.h"
#include "core/tokenizer/tokenizer.h"
#include "test_data.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace tailor;

namespace {

std::string tokenizerPath(const QString& family)
{
    if (family == "tok512")
        return testdata::stories260K();
    const QString dir = testdata::root() + "/tokenizers/" + family;
    if (!QFileInfo::exists(dir + "/tokenizer.json"))
        qFatal("%s missing: run scripts/fetch_fixtures.sh", qPrintable(dir));
    return dir.toStdString();
}

std::string readText(const std::string& path)
{
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", path.c_str());
    return f.readAll().toStdString();
}

std::string badTokenizer(QTemporaryDir& dir, const QString& json)
{
    const QString p = dir.filePath("tokenizer.json");
    QFile f(p);
    f.open(QIODevice::WriteOnly);
    f.write(json.toUtf8());
    return p.toStdString();
}

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void goldenTexts_data()
    {
        QTest::addColumn<QString>("family");
        for (const char* f : {"tok512", "llama2", "llama3", "qwen3"})
            QTest::newRow(f) << f;
    }
    void goldenTexts()
    {
        QFETCH(QString, family);
        const auto tok = Tokenizer::load(tokenizerPath(family));
        const QJsonArray texts = testdata::readJson(testdata::root() + "/golden/tokenizers/texts.json").array();
        const QJsonArray ids = testdata::readJson(testdata::root() + "/golden/tokenizers/ids-" + family + ".json").array();
        QCOMPARE(texts.size(), ids.size());
        int wrong = 0;
        for (int i = 0; i < texts.size(); ++i) {
            const std::string text = texts[i].toString().toStdString();
            std::vector<int32_t> want;
            for (const auto& v : ids[i].toArray())
                want.push_back(int32_t(v.toInt()));
            const auto got = tok->encode(text);
            if (got != want) {
                ++wrong;
                QString g, w;
                for (auto x : got) g += QString::number(x) + " ";
                for (auto x : want) w += QString::number(x) + " ";
                qWarning("text %d %s\n  got  %s\n  want %s", i, qPrintable(texts[i].toString().left(60)),
                         qPrintable(g.left(300)), qPrintable(w.left(300)));
            }
        }
        QCOMPARE(wrong, 0);
    }

    void roundTrip_data()
    {
        QTest::addColumn<QString>("family");
        for (const char* f : {"llama2", "llama3", "qwen3"})
            QTest::newRow(f) << f;
    }
    // decode(encode(x)) == x where the tokenizer does not normalise (llama2's
    // normalizer only maps spaces, llama3 has none, qwen3's NFC leaves NFC text as is).
    void roundTrip()
    {
        QFETCH(QString, family);
        const auto tok = Tokenizer::load(tokenizerPath(family));
        const QJsonArray texts = testdata::readJson(testdata::root() + "/golden/tokenizers/texts.json").array();
        for (const auto& t : texts) {
            const QString s = t.toString();
            if (s.normalized(QString::NormalizationForm_C) != s || s.contains("<s>") || s.contains("</s>"))
                continue;
            QCOMPARE(QString::fromStdString(tok->decode(tok->encode(s.toStdString()))), s);
        }
    }

    void tinyStoriesFiles_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("valid") << "tinystories-valid-99";
        QTest::newRow("calib") << "tinystories-calib-50";
    }
    void tinyStoriesFiles()
    {
        QFETCH(QString, name);
        const auto tok = Tokenizer::load(testdata::stories260K());
        const std::string text = readText((testdata::resources() + "/data/" + name + ".txt").toStdString());
        const auto got = tok->encode(text);
        const auto want = testdata::goldenIds(name);
        QCOMPARE(got.size(), want.size());
        QVERIFY(got == want);
    }

    void invalidUtf8IsReplaced()
    {
        const auto tok = Tokenizer::load(tokenizerPath("llama3"));
        const auto ids = tok->encode("ab\xff\xfe" "cd");
        QCOMPARE(QString::fromStdString(tok->decode(ids)), QString("ab\uFFFD\uFFFDcd"));
    }

    void tokensAndSpecials()
    {
        const auto tok = Tokenizer::load(testdata::stories260K());
        QCOMPARE(tok->bosId(), 1);
        QCOMPARE(tok->eosId(), 2);
        QCOMPARE(tok->tokenText(1), std::string("<s>"));
        QCOMPARE(tok->vocabSize(), 512);
    }

    void badInput_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        const QString vocab = R"("vocab":{"a":0,"b":1,"ab":2},"merges":["a b"])";
        QTest::newRow("malformed") << "{\n  \"model\": {\"type\": \"BPE\",\n  oops }" << "malformed JSON at line 3";
        QTest::newRow("wordpiece") << R"({"model":{"type":"WordPiece","vocab":{}}})" << "model type 'WordPiece' is not supported";
        QTest::newRow("unigram") << R"({"model":{"type":"Unigram","vocab":[]}})" << "model type 'Unigram' is not supported";
        QTest::newRow("wordlevel") << R"({"model":{"type":"WordLevel","vocab":{}}})" << "model type 'WordLevel' is not supported";
        QTest::newRow("bad regex") << R"({"model":{"type":"BPE",)" + vocab + R"(},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(?<=a+)b"},"behavior":"Isolated"}})" << "cannot compile regex '(?<=a+)b'";
        QTest::newRow("unknown normalizer") << R"({"model":{"type":"BPE",)" + vocab + R"(},"normalizer":{"type":"Precompiled"}})" << "normalizer 'Precompiled' is not supported";
        QTest::newRow("unknown pre_tokenizer") << R"({"model":{"type":"BPE",)" + vocab + R"(},"pre_tokenizer":{"type":"UnicodeScripts"}})" << "pre_tokenizer 'UnicodeScripts' is not supported";
        QTest::newRow("merge not in vocab") << R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a c"]}})" << "missing from the vocabulary";
    }
    void badInput()
    {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        QTemporaryDir dir;
        const std::string path = badTokenizer(dir, json);
        try {
            Tokenizer::load(path);
            QFAIL("accepted");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
            QVERIFY2(QString(e.what()).contains("tokenizer.json"), e.what());
        }
    }

    void characterOutsideVocabulary()
    {
        QTemporaryDir dir;
        const auto tok = Tokenizer::load(badTokenizer(dir, R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})"));
        QVERIFY(testdata::throwsWith([&] { tok->encode("abc"); }, "the text has the character 'b', which the vocabulary lacks and no unk_token covers"));
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
