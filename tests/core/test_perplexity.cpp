// Perplexity and logits against the independent PyTorch goldens (#2).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "test_data.h"

#include <QtTest>

using namespace tailor;

class TestPerplexity : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void evalPpl_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("seqLen");
        QTest::newRow("stories260K L128") << "stories260K" << 128;
        QTest::newRow("stories260K L256") << "stories260K" << 256;
        QTest::newRow("tinystories-12L L128") << "tinystories-12L" << 128;
        QTest::newRow("tinystories-12L L256") << "tinystories-12L" << 256;
    }
    void evalPpl()
    {
        QFETCH(QString, model);
        QFETCH(int, seqLen);
        const auto m = Model::load(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
        const auto ids = testdata::goldenIds("tinystories-valid-99");
        EvalOptions opt;
        opt.seq_len = seqLen;
        const EvalResult r = evaluatePerplexity(*m, ids, opt);
        const QJsonObject g = testdata::golden(model).value(QString("eval_ppl_L%1").arg(seqLen)).toObject();
        qInfo("%s L=%d: ppl %.8f golden %.8f (%.0f tok/s)", qPrintable(model), seqLen, r.ppl,
              g.value("ppl").toDouble(), r.tokens_per_s);
        QCOMPARE(r.predicted_tokens, int64_t(g.value("predicted_tokens").toDouble()));
        QVERIFY2(testdata::relErr(r.ppl, g.value("ppl").toDouble()) < 1e-4, "PPL differs from golden");
        QVERIFY(testdata::relErr(r.nll, g.value("nll_sum").toDouble()) < 1e-4);
    }

    void logitsWindow0_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("stories260K") << "stories260K";
        QTest::newRow("tinystories-12L") << "tinystories-12L";
    }
    void logitsWindow0()
    {
        QFETCH(QString, model);
        const auto m = Model::load(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
        const QJsonObject g = testdata::golden(model);
        std::vector<int64_t> ids;
        for (const auto& v : g.value("window0_ids").toArray())
            ids.push_back(v.toInt());
        c10::InferenceMode guard;
        const at::Tensor t = at::from_blob(ids.data(), {1, int64_t(ids.size())}, at::kLong);
        const at::Tensor h = runBlocks(*m, m->embed(t), 0, m->nBlocks(), makeRope(m->config(), t.size(1)));
        const at::Tensor logits = headLogits(*m, h)[0];
        const QJsonArray rows = g.value("logits_window0_first4").toArray();
        QCOMPARE(rows.size(), 4);
        double worst = 0;
        for (int p = 0; p < 4; ++p) {
            const auto want = testdata::toDoubles(rows[p]);
            QCOMPARE(int64_t(want.size()), logits.size(1));
            const at::Tensor row = logits[p].to(at::kDouble).contiguous();
            const double* got = row.data_ptr<double>();
            for (std::size_t v = 0; v < want.size(); ++v)
                worst = std::max(worst, std::abs(got[v] - want[v]));
        }
        qInfo("%s: max |logit - golden| = %.3g", qPrintable(model), worst);
        QVERIFY(worst < 1e-4);
    }

    // Every single-block drop of both models against the goldens, in one
    // process (test_cli checks one drop per model through tailor-cli).
    void dropEachBlockMatchesGolden_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("stories260K") << "stories260K";
        QTest::newRow("tinystories-12L") << "tinystories-12L";
    }
    void dropEachBlockMatchesGolden()
    {
        QFETCH(QString, model);
        const auto m = Model::load(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
        const auto ids = testdata::goldenIds("tinystories-valid-99");
        const auto want = testdata::toDoubles(testdata::golden(model).value("eval_ppl_L256_drop"));
        QCOMPARE(int(want.size()), m->nBlocks());
        for (int i = 0; i < m->nBlocks(); ++i) {
            EvalOptions opt;
            opt.seq_len = 256;
            opt.drop_blocks = {i};
            const double got = evaluatePerplexity(*m, ids, opt).ppl;
            QVERIFY2(testdata::relErr(got, want[std::size_t(i)]) < 1e-4,
                     qPrintable(QString("block %1: %2 vs %3").arg(i).arg(got).arg(want[std::size_t(i)])));
        }
    }

    // #14: Qwen3 (q/k RMSNorm before RoPE, head_dim x heads != hidden, no
    // BOS, embedding rows > tokenizer vocabulary) against its goldens.
    void qwen3MatchesGolden()
    {
        const std::string dir = (testdata::root() + "/models/qwen3-synthetic").toStdString();
        const auto m = Model::load(dir);
        QVERIFY(m->config().qk_norm);
        QCOMPARE(m->config().head_dim * m->config().n_head == m->config().hidden_size, false);
        const QJsonObject g = testdata::golden("qwen3-synthetic");
        std::vector<int32_t> ids;
        for (const auto& v : testdata::readJson(testdata::root() + "/golden/tinystories-valid-99.qwen3-ids.json").array())
            ids.push_back(v.toInt());
        // the real Qwen3 tokenizer gives the reference's ids for the text
        QVERIFY(ModelSession::open(dir)->tokenizeFile(testdata::validText()) == ids);
        EvalOptions opt;
        opt.seq_len = 128;
        for (const char* key : {"eval_ppl_L128", "eval_ppl_L128_drop1"}) {
            opt.drop_blocks = std::string(key).find("drop1") != std::string::npos ? std::vector<int>{1} : std::vector<int>{};
            const EvalResult r = evaluatePerplexity(*m, ids, opt);
            const QJsonObject want = g.value(key).toObject();
            qInfo("qwen3 %s: ppl %.6f golden %.6f", key, r.ppl, want.value("ppl").toDouble());
            QCOMPARE(r.predicted_tokens, int64_t(want.value("predicted_tokens").toDouble()));
            QVERIFY2(testdata::relErr(r.ppl, want.value("ppl").toDouble()) < 1e-4, key);
        }
        // window 0: logits of the first 64 entries and each row's logsumexp, positions 0-3
        std::vector<int64_t> w0;
        for (const auto& v : g.value("window0_ids").toArray())
            w0.push_back(v.toInt());
        QCOMPARE(w0[0], int64_t(ids[0]));
        c10::InferenceMode guard;
        const at::Tensor t = at::from_blob(w0.data(), {1, int64_t(w0.size())}, at::kLong);
        const at::Tensor logits = headLogits(*m, runBlocks(*m, m->embed(t), 0, m->nBlocks(), makeRope(m->config(), t.size(1))))[0];
        QCOMPARE(logits.size(1), int64_t(151936));
        const QJsonArray rows = g.value("logits_window0_pos0to3_first64").toArray();
        const auto lse = testdata::toDoubles(g.value("logsumexp_window0_pos0to3"));
        double worst = 0;
        for (int p = 0; p < 4; ++p) {
            const auto want = testdata::toDoubles(rows[p]);
            const at::Tensor row = logits[p].to(at::kDouble).contiguous();
            for (std::size_t v = 0; v < want.size(); ++v)
                worst = std::max(worst, std::abs(row.data_ptr<double>()[v] - want[v]));
            worst = std::max(worst, std::abs(at::logsumexp(row, 0).item<double>() - lse[std::size_t(p)]));
        }
        qInfo("qwen3: max |logit - golden| = %.3g", worst);
        QVERIFY(worst < 1e-4);
    }

    void batchingDoesNotChangeResult()
    {
        const auto m = Model::load(testdata::stories260K());
        const auto ids = testdata::goldenIds("tinystories-valid-99");
        EvalOptions one;
        one.seq_len = 128;
        one.max_windows = 12;
        one.batch_tokens = 1;
        EvalOptions many = one;
        many.batch_tokens = 128 * 5;
        QVERIFY(testdata::relErr(evaluatePerplexity(*m, ids, one).ppl, evaluatePerplexity(*m, ids, many).ppl) < 1e-6);
    }

    void cancelStops()
    {
        const auto m = Model::load(testdata::stories260K());
        const auto ids = testdata::goldenIds("tinystories-valid-99");
        EvalOptions opt;
        opt.seq_len = 128;
        opt.batch_tokens = 128;
        int calls = 0;
        QVERIFY(testdata::throwsA<tailor::Cancelled>([&] { evaluatePerplexity(*m, ids, opt, [&](const Progress&) { return ++calls < 3; }); }));
        QCOMPARE(calls, 3);
    }

    void badSettings()
    {
        const auto m = Model::load(testdata::stories260K());
        const std::vector<int32_t> shortIds(50, 5);
        EvalOptions opt;
        opt.seq_len = 128;
        QVERIFY(testdata::throwsWith([&] { evaluatePerplexity(*m, shortIds, opt); }, "evaluation text: 50 tokens is shorter than one window of 128 tokens"));
        opt.seq_len = 16;
        opt.drop_blocks = {0, 1, 2, 3, 4};
        QVERIFY(testdata::throwsWith([&] { evaluatePerplexity(*m, shortIds, opt); }, "cannot drop every block of the model"));
        opt.drop_blocks = {7};
        QVERIFY(testdata::throwsWith([&] { evaluatePerplexity(*m, shortIds, opt); }, "block 7 is out of range (the model has 5 blocks: 0..4)"));
        opt.drop_blocks = {};
        std::vector<int32_t> badIds(64, 9999);
        QVERIFY(testdata::throwsWith([&] { evaluatePerplexity(*m, badIds, opt); }, "token id 9999 is outside the vocabulary (512 tokens)"));
    }
};

QTEST_GUILESS_MAIN(TestPerplexity)
#include "test_perplexity.moc"
