// Multiple-choice task accuracy (#16): the log-likelihoods equal the plain
// evaluation path's on the same ids; the shipped TinyStories task is above
// chance for the demo model; malformed task files are refused by line.
#include "core/util/error.h"
#include "core/eval/mc_tasks.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "core/tokenizer/tokenizer.h"
#include "test_data.h"

#include <QTemporaryDir>
#include <QTest>

using namespace tailor;

namespace {
std::string shippedTask() { return (testdata::resources() + "/data/tinystories-next-sentence.jsonl").toStdString(); }

std::string taskFile(QTemporaryDir& dir, const QByteArray& text)
{
    const QString path = dir.filePath("task.jsonl");
    QFile f(path);
    f.open(QIODevice::WriteOnly);
    f.write(text);
    return path.toStdString();
}
} // namespace

class TestTasks : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // log p(continuation | context) = NLL(context) - NLL(context + continuation) by the window path
    void logLikelihoodEqualsPlainPath()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        const std::vector<McItem> items = readTaskFile(shippedTask());
        int checked = 0;
        for (std::size_t i = 0; i < 3; ++i)
            for (const McChoice& c : items[i].choices) {
                const std::vector<int32_t> ctx = s->tokenizer().encode(c.context), whole = s->tokenizer().encode(c.context + c.continuation);
                const double ll = continuationLogLikelihood(s->model(), ctx, whole);
                auto nll = [&](const std::vector<int32_t>& ids) {
                    TokenWindows w;
                    w.seq_len = int64_t(ids.size());
                    w.count = 1;
                    w.ids.assign(ids.begin(), ids.end());
                    return evaluateWindows(s->model(), w, EvalOptions{}).nll;
                };
                const double plain = nll(std::vector<int32_t>(whole.begin(), whole.begin() + int64_t(ctx.size()))) - nll(whole);
                QVERIFY2(testdata::relErr(ll, plain) < 1e-5, qPrintable(QString("%1 vs %2").arg(ll).arg(plain)));
                QVERIFY(ll < 0);
                ++checked;
            }
        QCOMPARE(checked, 12);
    }

    // The shipped task (scripts/build_story_task.py): four choices, so chance is 25 %
    void shippedTaskAboveChance()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        const std::vector<McItem> items = readTaskFile(shippedTask());
        QCOMPARE(int(items.size()), 200);
        const McResult dense = evaluateTask(s->model(), s->tokenizer(), items, {}, "task");
        McOptions drop;
        drop.drop_blocks = {5, 6, 7};
        const McResult pruned = evaluateTask(s->model(), s->tokenizer(), items, drop, "task");
        qInfo("dense acc %.3f ± %.3f, acc_norm %.3f ± %.3f; without 5,6,7 acc %.3f ± %.3f, acc_norm %.3f ± %.3f", dense.acc,
              dense.acc_stderr, dense.acc_norm, dense.acc_norm_stderr, pruned.acc, pruned.acc_stderr, pruned.acc_norm, pruned.acc_norm_stderr);
        QVERIFY(dense.acc - 3 * dense.acc_stderr > 0.25); // clearly above chance
        QVERIFY(dense.acc_norm > 0.25);
        QCOMPARE(std::sqrt(dense.acc * (1 - dense.acc) / 199.0), dense.acc_stderr);
        QVERIFY(pruned.acc <= dense.acc);
    }

    void badTaskFiles()
    {
        QTemporaryDir dir;
        const auto s = ModelSession::open(testdata::stories260K());
        auto err = [&](const QByteArray& text) {
            const std::string f = taskFile(dir, text);
            return QString::fromStdString(testdata::errorOf([&] { evaluateTask(s->model(), s->tokenizer(), readTaskFile(f), {}, f); }));
        };
        const QByteArray good = R"({"context": "Tom has a ball.", "choices": [" He plays.", " It rains."], "label": 0})";
        QVERIFY2(err(good + "\n{\"context\": \"x\n").contains("task.jsonl:2: not a JSON object ("), qPrintable(err(good + "\n{\"context\": \"x\n")));
        QVERIFY(err(R"({"context": "a", "choices": [" b", " c"], "label": 2})").endsWith("task.jsonl:1: label 2 is not one of the 2 choices"));
        QVERIFY(err(R"({"context": "a", "choices": [" b"], "label": 0})").endsWith("task.jsonl:1: an item needs at least two choices"));
        QVERIFY(err(R"({"question": "q"})").contains("task.jsonl:1: not a task item"));
        QVERIFY2(err(good + "\n" + R"({"context": "Tom has a ball.", "choices": ["", " x"], "label": 1})").endsWith("task.jsonl:2: choice 1 adds no tokens to the context"),
                 qPrintable(err(good + "\n" + R"({"context": "Tom has a ball.", "choices": ["", " x"], "label": 1})")));
        QVERIFY(err("\n\n").endsWith("task.jsonl: no task items"));
        // the public sets' field names
        const std::string f = taskFile(dir, R"({"ctx": "A man", "endings": ["runs.", "sits."], "label": "1"})" "\n"
                                            R"({"goal": "Open a jar", "sol1": "twist", "sol2": "kick", "label": 0})" "\n"
                                            R"({"question": "Sky?", "choices": {"text": ["blue", "green"], "label": ["A", "B"]}, "answerKey": "A"})" "\n"
                                            R"({"sentence": "Tom gave Sam the ball because _ was kind.", "option1": "Tom", "option2": "Sam", "answer": "1"})");
        const std::vector<McItem> items = readTaskFile(f);
        QCOMPARE(int(items.size()), 4);
        QCOMPARE(items[0].label, 1);
        QCOMPARE(items[0].choices[1].continuation, std::string(" sits."));
        QCOMPARE(items[1].choices[0].context, std::string("Question: Open a jar\nAnswer:"));
        QCOMPARE(items[2].choices[1].continuation, std::string(" green"));
        QCOMPARE(items[3].choices[1].context, std::string("Tom gave Sam the ball because Sam"));
        QCOMPARE(items[3].choices[1].continuation, std::string(" was kind."));
        QCOMPARE(items[3].label, 0);
    }
};

QTEST_GUILESS_MAIN(TestTasks)
#include "test_tasks.moc"
