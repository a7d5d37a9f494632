// #30 against llama.cpp itself: Tailor's GGUF of the synthetic Qwen3-MoE
// (qwen3moe: ffn_gate_inp and the experts stacked as ffn_{gate,up,down}_exps)
// loads in libllama and gives Tailor's perplexity; quantized exports equal
// llama-quantize's bytes; an expert-pruned export runs in libllama.
#include "core/analysis/expert_routing.h"
#include "core/analysis/imatrix.h"
#include "core/compress/expert_prune.h"
#include "core/eval/perplexity.h"
#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_mixture.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/util/token_windows.h"
#include "llama_oracle_support.h"
#include "test_data.h"

#include <ggml.h>
#include <imatrix-loader.h>
#include <llama.h>

#include <QTemporaryDir>
#include <QTest>

using namespace tailor;
using namespace tailor::oracle;

class TestMoeLlama : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    std::shared_ptr<ModelSession> session_;
    TokenWindows windows_;
    std::string f32_;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        llama_log_set(quiet, nullptr);
        ggml_backend_load_all_from_path(TAILOR_LLAMA_LIB); // the CPU backend for llama_decode
        llama_backend_init();
        session_ = ModelSession::open((testdata::root() + "/models/qwen3-moe-synthetic").toStdString());
        windows_ = cutWindows(session_->tokenizeFile(testdata::validText()), 128, 8, "valid");
        f32_ = tmp_.filePath("moe-f32.gguf").toStdString();
        GgufExportOptions o;
        o.type = "f32";
        exportGguf(session_->model(), {}, f32_, o);
    }

    void f32LoadsWithTheSamePerplexity()
    {
        // llama.cpp's names and shapes (llama_model_qwen3moe::load_arch_tensors), tensor by tensor
        const auto f = gguf::File::open(f32_);
        QCOMPARE(f->find("general.architecture")->value.toString(), QString("qwen3moe"));
        QCOMPARE(f->find("qwen3moe.expert_count")->value.toInt(), 8);
        QCOMPARE(f->find("qwen3moe.expert_used_count")->value.toInt(), 2);
        QCOMPARE(f->find("qwen3moe.expert_feed_forward_length")->value.toInt(), 32);
        for (int b = 0; b < 4; ++b) {
            const auto ne = [&](const char* what) {
                const gguf::TensorInfo* t = f->tensor("blk." + std::to_string(b) + "." + what + ".weight");
                return t ? t->ne : std::vector<int64_t>{};
            };
            QCOMPARE(ne("ffn_gate_inp"), (std::vector<int64_t>{64, 8}));
            QCOMPARE(ne("ffn_gate_exps"), (std::vector<int64_t>{64, 32, 8}));
            QCOMPARE(ne("ffn_up_exps"), (std::vector<int64_t>{64, 32, 8}));
            QCOMPARE(ne("ffn_down_exps"), (std::vector<int64_t>{32, 64, 8}));
            QCOMPARE(ne("attn_q_norm"), (std::vector<int64_t>{32}));
            QVERIFY(ne("ffn_gate").empty() && ne("ffn_down").empty()); // no dense MLP
        }
        const double ours = evaluateWindows(session_->model(), windows_, {}).ppl;
        const double theirs = llamaPerplexity(f32_, windows_);
        qInfo("qwen3moe F32: Tailor %.6f, llama.cpp %.6f (rel %.2g)", ours, theirs, testdata::relErr(ours, theirs));
        QVERIFY(testdata::relErr(ours, theirs) < 1e-5);
    }

    // Mixtral as llama.cpp runs it: arch llama with experts, q/k rows permuted
    void mixtralF32LoadsWithTheSamePerplexity()
    {
        const auto s = ModelSession::open((testdata::root() + "/models/mixtral-synthetic").toStdString());
        const TokenWindows w = cutWindows(s->tokenizeFile(testdata::validText()), 128, 8, "valid");
        const std::string file = tmp_.filePath("mixtral-f32.gguf").toStdString();
        GgufExportOptions o;
        o.type = "f32";
        exportGguf(s->model(), {}, file, o);
        const double ours = evaluateWindows(s->model(), w, {}).ppl;
        const double theirs = llamaPerplexity(file, w);
        qInfo("mixtral F32: Tailor %.6f, llama.cpp %.6f (rel %.2g)", ours, theirs, testdata::relErr(ours, theirs));
        QVERIFY(testdata::relErr(ours, theirs) < 1e-5);
    }

    void quantizedEqualsLlamaQuantize_data()
    {
        QTest::addColumn<QString>("type");
        QTest::newRow("q8_0") << "q8_0";
        QTest::newRow("q4_k_m") << "q4_k_m";
    }

    // the expert tensors (and every other) byte for byte, and the file's
    // perplexity in libllama against Tailor's of the same quantized model
    void quantizedEqualsLlamaQuantize()
    {
        QFETCH(QString, type);
        GgufExportOptions o;
        o.type = type.toStdString();
        const std::string ours = tmp_.filePath("moe-" + type + ".gguf").toStdString();
        const std::string theirs = tmp_.filePath("moe-" + type + "-llama.gguf").toStdString();
        exportGguf(session_->model(), {}, ours, o);
        QCOMPARE(llamaQuantize(f32_, theirs, llama_ftype(gguf::mixture(o.type).ftype), {}, {}), 0u);
        QCOMPARE(compareGguf(ours, theirs), QString());
        const double tailor = evaluateWindows(*ggufQuantizedModel(session_->model(), {}, o), windows_, {}).ppl;
        const double llama = llamaPerplexity(ours, windows_);
        qInfo("qwen3moe %s: Tailor %.6f, llama.cpp %.6f (rel %.2g)", qPrintable(type), tailor, llama, testdata::relErr(tailor, llama));
        // Measured 4.7e-3 (Q8_0) and 8.9e-3 (Q4_K_M), above the 2e-3 the
        // dense models meet: llama.cpp multiplies the experts on inputs
        // rounded to Q8_0/Q8_K (Tailor's int8 path covers attention only, and
        // closes half the gap), and on this random model (mean NLL 20) a
        // rounding that flips a near-tie routing choice moves the NLL by a lot.
        // The bound here guards against regressions; #30 records the gap.
        QVERIFY(testdata::relErr(tailor, llama) < 1.5e-2);
    }

    // The importance matrix of a mixture: per-expert sums and counts in
    // llama.cpp's GGUF imatrix format (read by its own loader), the expert no
    // token reached written with count 0; quantized with it, Tailor's file
    // equals llama-quantize's given the weights as llama-quantize's tool
    // derives them from that file (sums / count, 1 for an unreached expert).
    void imatrixPerExpertEqualsLlama()
    {
        const Model& m = session_->model();
        CalibOptions co;
        co.windows = 8;
        const Imatrix im = computeImatrix(m, session_->calibration(testdata::validText(), co), "valid");
        const std::string file = tmp_.filePath("moe.imatrix.gguf").toStdString();
        writeImatrix(im, file, true);
        common_imatrix loaded;
        QVERIFY(common_imatrix_load(file, loaded));
        QVERIFY(loaded.has_metadata);
        const common_imatrix_entry& down = loaded.entries.at("blk.0.ffn_down_exps.weight");
        QCOMPARE(down.counts.size(), std::size_t(8));
        QCOMPARE(down.sums.size(), std::size_t(8 * 32));
        QCOMPARE(down.counts[7], int64_t(0)); // the generator's never-chosen expert
        int64_t routed = 0;
        for (int64_t c : down.counts)
            routed += c;
        QCOMPARE(routed, int64_t(2 * 8 * 128)); // each token counted for its two experts
        QCOMPARE(loaded.entries.at("blk.0.ffn_gate_inp.weight").counts, std::vector<int64_t>{1024});
        QCOMPARE(loaded.entries.at("blk.0.attn_q.weight").counts, std::vector<int64_t>{1024});
        // quantize.cpp load_imatrix, written out here from the loaded file
        std::vector<std::pair<std::string, std::vector<float>>> weights;
        for (const auto& [name, e] : loaded.entries) {
            const std::size_t n = e.counts.size(), cols = e.sums.size() / n;
            std::vector<float> w(e.sums.size());
            for (std::size_t j = 0; j < n; ++j)
                for (std::size_t i = 0; i < cols; ++i)
                    w[j * cols + i] = e.counts[j] > 0 ? e.sums[j * cols + i] / float(e.counts[j]) : 1.0f;
            weights.push_back({name, w});
        }
        for (const char* type : {"q4_k_m", "iq4_xs"}) {
            GgufExportOptions o;
            o.type = type;
            o.imatrix = &im;
            const std::string ours = tmp_.filePath(QString("moe-im-%1.gguf").arg(type)).toStdString();
            const std::string theirs = tmp_.filePath(QString("moe-im-%1-llama.gguf").arg(type)).toStdString();
            exportGguf(m, {}, ours, o);
            QCOMPARE(llamaQuantize(f32_, theirs, llama_ftype(gguf::mixture(o.type).ftype), weights, {}), 0u);
            QCOMPARE(compareGguf(ours, theirs), QString());
            qInfo("qwen3moe %s with the per-expert imatrix: the bytes of llama-quantize", type);
        }
        // an importance matrix made before pruning does not fit the pruned model
        const auto pruned = pruneExperts(m, expertsToKeep(measureRouting(m, windows_), 6, ExpertCriterion::Frequency));
        GgufExportOptions o;
        o.type = "q4_k_m";
        o.imatrix = &im;
        QVERIFY(testdata::throwsWith([&] { exportGguf(*pruned, {}, tmp_.filePath("x.gguf").toStdString(), o); },
                                     "blk.0.ffn_down_exps.weight holds 8 experts' statistics, the model has 6 (made before expert pruning?"));
    }

    // 5 of 8 experts kept by REAP: the GGUF says 5 and llama.cpp computes Tailor's numbers
    void prunedExportRunsInLlama()
    {
        const Model& m = session_->model();
        const ExpertRouting r = measureRouting(m, cutWindows(session_->tokenizeFile(testdata::validText()), 128, 4, "valid"));
        const auto pruned = pruneExperts(m, expertsToKeep(r, 5, ExpertCriterion::Reap));
        const std::string file = tmp_.filePath("moe-pruned.gguf").toStdString();
        GgufExportOptions o;
        o.type = "f32";
        exportGguf(*pruned, {}, file, o);
        const double ours = evaluateWindows(*pruned, windows_, {}).ppl;
        const double theirs = llamaPerplexity(file, windows_);
        qInfo("qwen3moe pruned to 5 experts, F32: Tailor %.6f, llama.cpp %.6f (rel %.2g)", ours, theirs, testdata::relErr(ours, theirs));
        QVERIFY(testdata::relErr(ours, theirs) < 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestMoeLlama)
#include "test_moe_llama.moc"
