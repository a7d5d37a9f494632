// Block importance against the independent goldens (#4), shards and merge (#8),
// suggestions and bad settings.
#include "core/analysis/block_importance.h"
#include "core/analysis/block_scan_json.h"
#include "core/util/error.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "synthetic_models.h"
#include "test_data.h"

#include <QtTest>

using namespace tailor;

namespace {

struct Fixture {
    std::shared_ptr<ModelSession> session;
    TokenWindows calib;
};

Fixture open(const QString& model)
{
    Fixture f;
    f.session = ModelSession::open(model == "stories260K" ? testdata::stories260K() : testdata::tinystories12L());
    f.calib = calibrationWindows(f.session->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
    return f;
}

} // namespace

class TestBlockImportance : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void goldens_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("stories260K") << "stories260K";
        QTest::newRow("tinystories-12L") << "tinystories-12L";
    }
    void goldens()
    {
        QFETCH(QString, model);
        const Fixture f = open(model);
        const QJsonObject g = testdata::golden(model);
        BlockScanOptions opt;
        int partialCalls = 0;
        const BlockScanResult r = scanBlocks(f.session->model(), f.calib, opt, {}, [&](const BlockScanResult&) { ++partialCalls; });
        QVERIFY(partialCalls >= int(f.session->summary().n_layer));
        QVERIFY(testdata::relErr(r.dense_ppl, g.value("calib_ppl_dense").toDouble()) < 1e-4);
        const auto ppl = testdata::toDoubles(g.value("ppl_drop"));
        const auto bi = testdata::toDoubles(g.value("bi"));
        const auto taylor = testdata::toDoubles(g.value("taylor_block"));
        QCOMPARE(r.blocks.size(), ppl.size());
        double worstPpl = 0, worstBi = 0, worstTaylor = 0;
        for (std::size_t i = 0; i < ppl.size(); ++i) {
            worstPpl = std::max(worstPpl, testdata::relErr(r.blocks[i].ppl, ppl[i]));
            worstBi = std::max(worstBi, testdata::relErr(r.blocks[i].bi, bi[i]));
            worstTaylor = std::max(worstTaylor, testdata::relErr(r.blocks[i].taylor, taylor[i]));
        }
        qInfo("%s worst relative error: ppl %.2e bi %.2e taylor %.2e", qPrintable(model), worstPpl, worstBi, worstTaylor);
        QVERIFY(worstPpl < 1e-3);
        QVERIFY(worstBi < 1e-3);
        QVERIFY(worstTaylor < 1e-2);
        // per-matrix Taylor scores too
        const QJsonObject tm = g.value("taylor_matrix").toObject();
        for (auto it = tm.begin(); it != tm.end(); ++it)
            QVERIFY2(testdata::relErr(r.taylor_matrix.at(it.key().toStdString()), it.value().toDouble()) < 1e-2, qPrintable(it.key()));
    }

    // The bounded-memory block-by-block Taylor (used for large models) agrees
    // with the whole-graph one and with the golden.
    void blockwiseTaylor_data() { goldens_data(); }
    void blockwiseTaylor()
    {
        QFETCH(QString, model);
        const Fixture f = open(model);
        BlockScanOptions opt;
        opt.ppl = opt.bi = false;
        const BlockScanResult whole = scanBlocks(f.session->model(), f.calib, opt);
        opt.taylor_blockwise = true;
        const BlockScanResult blockwise = scanBlocks(f.session->model(), f.calib, opt);
        const auto taylor = testdata::toDoubles(testdata::golden(model).value("taylor_block"));
        for (std::size_t i = 0; i < taylor.size(); ++i) {
            QVERIFY(testdata::relErr(blockwise.blocks[i].taylor, taylor[i]) < 1e-2);
            QVERIFY(testdata::relErr(blockwise.blocks[i].taylor, whole.blocks[i].taylor) < 1e-4);
        }
        for (const auto& [name, v] : whole.taylor_matrix)
            QVERIFY2(testdata::relErr(blockwise.taylor_matrix.at(name), v) < 1e-4, name.c_str());
        // back-propagated 3 windows at a time (chunks 3, 3, 3, 1): the same scores
        opt.taylor_chunk_windows = 3;
        const BlockScanResult chunked = scanBlocks(f.session->model(), f.calib, opt);
        for (const auto& [name, v] : whole.taylor_matrix)
            QVERIFY2(testdata::relErr(chunked.taylor_matrix.at(name), v) < 1e-4, name.c_str());
    }

    // An untied lm_head: scored from its own gradient, the embedding from the
    // lookup's gradient alone (only the rows of calibration tokens), equal
    // block by block and chunked to the whole-graph pass.
    void blockwiseTaylorUntied()
    {
        QTemporaryDir dir;
        testdata::writeTinyUntiedModel(dir.path(), 3, "BF16");
        const auto s = ModelSession::open(dir.path().toStdString());
        const TokenWindows calib = calibrationWindows(s->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
        BlockScanOptions opt;
        opt.ppl = opt.bi = false;
        const BlockScanResult whole = scanBlocks(s->model(), calib, opt);
        QVERIFY(whole.taylor_matrix.count("lm_head.weight") && whole.taylor_matrix.count("model.embed_tokens.weight"));
        opt.taylor_blockwise = true;
        opt.taylor_chunk_windows = 4;
        const BlockScanResult blockwise = scanBlocks(s->model(), calib, opt);
        QCOMPARE(blockwise.taylor_matrix.size(), whole.taylor_matrix.size());
        for (const auto& [name, v] : whole.taylor_matrix) {
            QVERIFY2(v > 0, name.c_str());
            QVERIFY2(testdata::relErr(blockwise.taylor_matrix.at(name), v) < 1e-4, name.c_str());
        }
    }

    void taylorPlusExclusion()
    {
        QCOMPARE(taylorPlusExcluded(12), std::vector<int>({0, 1, 2, 3, 10, 11}));
        QCOMPARE(taylorPlusExcluded(5), std::vector<int>({0, 1, 2, 3, 4}));
        const Fixture f = open("tinystories-12L");
        BlockScanOptions opt;
        opt.taylor = false;
        opt.excluded = taylorPlusExcluded(12);
        const BlockScanResult r = scanBlocks(f.session->model(), f.calib, opt);
        const auto pick = suggestOneShot(r, Criterion::Ppl, 3);
        for (int b : pick)
            QVERIFY(b >= 4 && b <= 9);
        // the three picked are the three lowest PPL-without among candidates
        const auto ppl = testdata::toDoubles(testdata::golden("tinystories-12L").value("ppl_drop"));
        std::vector<int> cand = {4, 5, 6, 7, 8, 9};
        std::sort(cand.begin(), cand.end(), [&](int a, int b) { return ppl[a] < ppl[b]; });
        QCOMPARE(pick, std::vector<int>(cand.begin(), cand.begin() + 3));
    }

    void iterativeSuggestion()
    {
        const Fixture f = open("tinystories-12L");
        BlockScanOptions opt;
        opt.excluded = taylorPlusExcluded(12);
        const auto pick = suggestIterative(f.session->model(), f.calib, Criterion::Ppl, 2, opt);
        QCOMPARE(int(pick.size()), 2);
        QVERIFY(pick[0] != pick[1]);
        // first pick of the iterative method equals the one-shot first pick
        opt.taylor = opt.bi = false;
        QCOMPARE(pick[0], suggestOneShot(scanBlocks(f.session->model(), f.calib, opt), Criterion::Ppl, 1)[0]);
        // its second step scores the model without the first pick
        EvalOptions eo;
        eo.seq_len = 128;
        eo.drop_blocks = pick;
        const double both = evaluateWindows(f.session->model(), f.calib, eo).ppl;
        QVERIFY(both > 0);
    }

    void savings()
    {
        const Fixture f = open("tinystories-12L");
        const DropSavings s = dropSavings(f.session->model(), {4, 5});
        QCOMPARE(s.parameters_before, int64_t(2280576));
        QCOMPARE(s.parameters_after, int64_t(2280576 - 2 * 184576));
        const double blockLinear = 184576 - 256;
        QVERIFY(std::abs(s.flop_reduction - 2 * blockLinear / (12 * blockLinear + 512 * 128)) < 1e-12);
    }

    void cancelKeepsPartial()
    {
        const Fixture f = open("tinystories-12L");
        BlockScanOptions opt;
        opt.taylor = false;
        BlockScanResult last;
        int finished = 0;
        const bool cancelled = testdata::throwsA<Cancelled>([&] {
            scanBlocks(f.session->model(), f.calib, opt,
                       [&](const Progress& p) { return p.fraction < 0.5; },
                       [&](const BlockScanResult& r) { last = r; });
        });
        QVERIFY(cancelled);
        for (const auto& b : last.blocks)
            finished += !std::isnan(b.ppl);
        QVERIFY(finished > 0 && finished < 12);
    }

    // Two shards merged equal one full run exactly (#8).
    void shardsMergeExactly()
    {
        const Fixture f = open("stories260K");
        BlockScanOptions opt;
        const ScanFingerprint fp{"m", 1, 5, f.calib.count, f.calib.seq_len, hashIds(f.calib.ids), {"ppl", "taylor", "bi"}, {}, {}};
        const QJsonObject full = scanToJson(scanBlocks(f.session->model(), f.calib, opt), fp, 0, 4);
        opt.only_from = 0;
        opt.only_to = 1;
        const QJsonObject a = scanToJson(scanBlocks(f.session->model(), f.calib, opt), fp, 0, 1);
        opt.only_from = 2;
        opt.only_to = 4;
        const QJsonObject b = scanToJson(scanBlocks(f.session->model(), f.calib, opt), fp, 2, 4);
        QJsonObject merged = mergeScanShards({b, a}, {"b.json", "a.json"});
        QJsonObject fullCopy = full;
        merged.remove("seconds");
        fullCopy.remove("seconds");
        // equal up to the order of sums (the thread count follows the machine's load)
        QVERIFY(testdata::sameUpTo(merged, fullCopy, testdata::kSameComputation));
        // overlapping, missing and foreign shards are refused
        QVERIFY(testdata::throwsWith([&] { mergeScanShards({a, a}, {"a.json", "a2.json"}); }, "a2.json: block 0 is also in a.json (overlapping shards)"));
        QVERIFY(testdata::throwsWith([&] { mergeScanShards({a}, {"a.json"}); }, "merge: block 2 is in no shard (missing shard)"));
        ScanFingerprint other = fp;
        other.seq_len = 64;
        const QJsonObject foreign = scanToJson(scanFromJson(b, nullptr, nullptr, nullptr), other, 2, 4);
        try {
            mergeScanShards({a, foreign}, {"a.json", "other.json"});
            QFAIL("merged a shard of other settings");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("other.json"), e.what());
        }
    }

    // #13: a 5-block model under Taylor+'s six exclusions is scored in full,
    // with a warning that no candidate is left (it used to refuse to scan).
    void smallModelScoresEveryBlock()
    {
        const Fixture f = open("stories260K");
        BlockScanOptions opt;
        opt.excluded = taylorPlusExcluded(5);
        opt.taylor = false;
        const BlockScanResult r = scanBlocks(f.session->model(), f.calib, opt);
        QCOMPARE(int(r.blocks.size()), 5);
        for (const auto& b : r.blocks) {
            QVERIFY(b.excluded && b.computed);
            QVERIFY(std::isfinite(b.ppl) && std::isfinite(b.bi));
        }
        QCOMPARE(int(r.warnings.size()), 1);
        QVERIFY2(r.warnings[0].find("no block is a candidate") != std::string::npos, r.warnings[0].c_str());
        const std::string why = testdata::errorOf([&] { suggestOneShot(r, Criterion::Ppl, 1); });
        QVERIFY2(why.find("0 candidates") != std::string::npos, why.c_str());
    }

    void badSettings()
    {
        const Fixture f = open("stories260K");
        const auto ids = f.session->tokenizeFile(testdata::calibText());
        // calibration text shorter than one window
        QVERIFY(testdata::throwsWith([&] { calibrationWindows(std::vector<int32_t>(100, 5), CalibOptions{}, "c"); }, "c: 10 windows of 128 tokens were asked for, but its 100 tokens hold only 0"));
        // more windows than the text has
        CalibOptions many;
        many.windows = 100000;
        QVERIFY(testdata::throwsWith([&] { calibrationWindows(ids, many, "c"); }, "c: 100000 windows of 128 tokens were asked for, but its 16360 tokens hold only 127"));
        BlockScanOptions opt;
        opt.excluded = {9};
        QVERIFY(testdata::errorOf([&] { scanBlocks(f.session->model(), f.calib, opt); }).find("excluded block 9 is out of range") !=
                std::string::npos);
        opt.excluded = {};
        opt.only_from = 3;
        opt.only_to = 7;
        QVERIFY(testdata::throwsWith([&] { scanBlocks(f.session->model(), f.calib, opt); }, "block range 3-7 is outside the model's blocks 0-4"));
        QVERIFY(testdata::throwsWith([&] { dropSavings(f.session->model(), {0, 1, 2, 3, 4}); }, "cannot drop every block of the model"));
        QVERIFY(testdata::throwsWith([&] { dropSavings(f.session->model(), {5}); }, "block 5 is out of range (the model has 5 blocks: 0..4)"));
    }
};

QTEST_GUILESS_MAIN(TestBlockImportance)
#include "test_block_importance.moc"
