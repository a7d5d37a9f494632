// The batch-1 decoder (#17) against the batched forward the evaluation uses:
// at every step its logits equal those of a full forward over the prefix
// (within 1e-4) and greedy decoding picks the same tokens, for every storage
// the decoder reads in place (BF16 checkpoint, F16, F32, Qwen3's q/k norms and
// biases-free GQA), with dropped blocks, low-rank factors and llama.cpp block
// types. With int8 activations (llama.cpp's way) the quantized model's tokens
// are compared instead of its logits.
#include <ATen/ATen.h>

#include "core/decode/batch_throughput.h"
#include "core/decode/decode_speed.h"
#include "core/decode/decoder.h"
#include "core/decode/packed_matrix.h"
#include "core/decode/row_kernels.h"
#include "core/util/error.h"
#include "core/formats/gguf/ggml_blocks.h"
#include "core/formats/gguf/ggml_quants.h"
#include "core/export/gguf_export.h"
#include "core/model/llama_forward.h"
#include "core/lowrank/factorize.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "core/tokenizer/tokenizer.h"
#include "synthetic_models.h"
#include "test_data.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace tailor;

namespace {

struct Trace {
    std::vector<int32_t> ids;             // prompt + greedy continuation
    std::vector<std::vector<float>> logits; // per decoded position, from the prompt's last on
    int64_t prompt = 0;
};

Trace greedy(const Model& m, const std::vector<int32_t>& prompt, int steps, const decode::DecoderOptions& opt)
{
    decode::Decoder d(m, opt);
    Trace t;
    t.ids = prompt;
    t.prompt = int64_t(prompt.size());
    std::vector<float> l = d.prefill(prompt);
    for (int s = 0; s < steps; ++s) {
        t.logits.push_back(l);
        const int32_t next = int32_t(std::max_element(l.begin(), l.end()) - l.begin());
        t.ids.push_back(next);
        if (s + 1 < steps)
            l = d.step(next);
    }
    return t;
}

// Logits of every position of ids (all but the last token fed), by the batched forward.
at::Tensor fullForward(const Model& m, const std::vector<int32_t>& ids, const std::vector<int>& drop)
{
    at::NoGradGuard ng;
    std::vector<int64_t> v(ids.begin(), ids.end() - 1);
    const at::Tensor t = at::from_blob(v.data(), {1, int64_t(v.size())}, at::kLong).clone();
    const at::Tensor h = runBlocks(m, m.embed(t), 0, m.nBlocks(), makeRope(m.config(), t.size(1)), blockSkipMask(m, drop));
    return headLogits(m, h)[0];
}

// Max |logit difference| over the steps; QVERIFYs the greedy tokens too.
double compare(const Model& m, const Trace& t, const std::vector<int>& drop)
{
    const at::Tensor ref = fullForward(m, t.ids, drop);
    double worst = 0;
    for (std::size_t s = 0; s < t.logits.size(); ++s) {
        const int64_t p = t.prompt - 1 + int64_t(s);
        const at::Tensor mine = at::from_blob(const_cast<float*>(t.logits[s].data()), {int64_t(t.logits[s].size())}, at::kFloat);
        worst = std::max(worst, (mine - ref[p]).abs().max().item<double>());
        if (ref[p].argmax().item<int64_t>() != t.ids[std::size_t(p + 1)])
            qWarning("step %zu: forward argmax %lld, decoder %d", s, (long long)ref[p].argmax().item<int64_t>(), t.ids[std::size_t(p + 1)]);
    }
    return worst;
}

std::vector<int32_t> prompt(const ModelSession& s) { return s.tokenizer().encode("Once upon a time, there was a little"); }

} // namespace

class TestDecoder : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void equalsFullForward_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("drop");
        QTest::newRow("tinystories-12L bf16") << QString::fromStdString(testdata::tinystories12L()) << "";
        QTest::newRow("tinystories-12L without 3,7,8") << QString::fromStdString(testdata::tinystories12L()) << "3,7,8";
        QTest::newRow("qwen3-synthetic") << testdata::root() + "/models/qwen3-synthetic" << "";
        QTest::newRow("stories260K f32") << QString::fromStdString(testdata::stories260K()) << "";
    }

    void equalsFullForward()
    {
        QFETCH(QString, model);
        QFETCH(QString, drop);
        const auto s = ModelSession::open(model.toStdString());
        decode::DecoderOptions opt;
        for (const QString& b : drop.split(',', Qt::SkipEmptyParts))
            opt.drop_blocks.push_back(b.toInt());
        const Trace t = greedy(s->model(), prompt(*s), 64, opt);
        const double worst = compare(s->model(), t, opt.drop_blocks);
        qInfo("max |logit diff| over 64 steps: %.3g", worst);
        QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
        // the tokens: the full forward's argmax at every position
        const at::Tensor ref = fullForward(s->model(), t.ids, opt.drop_blocks).argmax(-1);
        for (int64_t p = t.prompt - 1; p < int64_t(t.ids.size()) - 1; ++p)
            QCOMPARE(int32_t(ref[p].item<int64_t>()), t.ids[std::size_t(p + 1)]);
    }

    // Batch-8 throughput (#18) measures real generation: every sequence's
    // greedy continuation and last logits equal the full forward's on its
    // tokens, with and without dropped blocks; the sequences differ.
    void batchThroughputGenerates_data()
    {
        QTest::addColumn<QString>("drop");
        QTest::newRow("dense") << "";
        QTest::newRow("without 3,7,8") << "3,7,8";
    }

    void batchThroughputGenerates()
    {
        QFETCH(QString, drop);
        const auto s = ModelSession::open(testdata::tinystories12L());
        BatchThroughputOptions o;
        o.batch = 3;
        o.prompt_tokens = 12;
        o.decode_tokens = 6;
        o.repeats = 1;
        for (const QString& b : drop.split(',', Qt::SkipEmptyParts))
            o.drop_blocks.push_back(b.toInt());
        const BatchThroughput r = measureBatchThroughput(s->model(), o);
        QCOMPARE(r.batch, int64_t(3));
        QCOMPARE(r.tokens.size(), std::size_t(3));
        QCOMPARE(r.decode.runs, 1);
        QVERIFY(r.decode.median > 0 && r.prefill.median > 0);
        QVERIFY(r.weights_widened_once);
        QVERIFY(r.tokens[0] != r.tokens[1] && r.tokens[1] != r.tokens[2]);
        for (std::size_t b = 0; b < 3; ++b) {
            std::vector<int32_t> ids = r.tokens[b];
            QCOMPARE(int64_t(ids.size()), o.prompt_tokens + o.decode_tokens);
            ids.push_back(0); // fullForward feeds all but the last id
            const at::Tensor ref = fullForward(s->model(), ids, o.drop_blocks);
            for (int64_t p = o.prompt_tokens; p < o.prompt_tokens + o.decode_tokens; ++p)
                QCOMPARE(int64_t(r.tokens[b][std::size_t(p)]), ref[p - 1].argmax().item<int64_t>());
            const at::Tensor mine = at::from_blob(const_cast<float*>(r.last_logits[b].data()), {int64_t(r.last_logits[b].size())}, at::kFloat);
            const double worst = (mine - ref[o.prompt_tokens + o.decode_tokens - 1]).abs().max().item<double>();
            QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
        }
        o.decode_tokens = 600;
        try {
            measureBatchThroughput(s->model(), o);
            QFAIL("a run longer than the context was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("do not fit the model's context (512)"), e.what());
        }
    }

    // #32: block types on int8 GEMM in the batched forward, as the batch-1
    // decoder runs them (no fp32 copy): the same tokens, logits to the rounding.
    void batchThroughputOnInt8()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        GgufExportOptions g;
        g.type = "q8_0";
        const auto q = ggufQuantizedModel(s->model(), {}, g);
        BatchThroughputOptions o;
        o.batch = 3;
        o.prompt_tokens = 12;
        o.decode_tokens = 6;
        o.repeats = 1;
        const BatchThroughput r = measureBatchThroughput(*q, o);
        QVERIFY(r.int8_products && !r.weights_widened_once);
        for (std::size_t b = 0; b < 3; ++b) {
            const std::vector<int32_t> prompt(r.tokens[b].begin(), r.tokens[b].begin() + o.prompt_tokens);
            const Trace t = greedy(*q, prompt, int(o.decode_tokens) + 1, {});
            QCOMPARE(std::vector<int32_t>(t.ids.begin(), t.ids.end() - 1), r.tokens[b]);
            // A rounding to Q8_0 is discontinuous: the two paths' float sums differ
            // in the last bits (attention on torch against the decoder's own), which
            // after a few steps flips some input's rounding by one step. So the
            // logits agree to the rounding's size, as int8ActivationsKeepTheTokens
            // holds the decoder to, and the tokens exactly.
            double worst = 0, scale = 0;
            for (std::size_t i = 0; i < r.last_logits[b].size(); ++i) {
                worst = std::max(worst, double(std::abs(r.last_logits[b][i] - t.logits.back()[i])));
                scale = std::max(scale, double(std::abs(t.logits.back()[i])));
            }
            QVERIFY2(worst < 0.05 * scale, qPrintable(QString("%1 of %2").arg(worst).arg(scale)));
        }
    }

    // The KV cache a token reads: fp32 keys and values of each kept block up to its position.
    void kvBytesPerToken()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        decode::DecoderOptions opt;
        opt.max_positions = 64;
        opt.drop_blocks = {3, 7, 8};
        const decode::Decoder d(s->model(), opt);
        const ModelConfig& c = s->model().config();
        QCOMPARE(d.kvBytesPerToken(40), int64_t(9) * 2 * c.n_head_kv * c.head_dim * 40 * 4);
        QCOMPARE(d.kvBytesPerToken(0), int64_t(0));
    }

    void storedHalfPrecision_data()
    {
        QTest::addColumn<QString>("dtype");
        QTest::newRow("f16") << "F16";
        QTest::newRow("bf16") << "BF16";
        QTest::newRow("f32") << "F32";
    }

    void storedHalfPrecision()
    {
        QFETCH(QString, dtype);
        QTemporaryDir dir;
        testdata::writeTinyUntiedModel(dir.path(), 3, dtype.toStdString());
        const auto s = ModelSession::open(dir.path().toStdString());
        const Trace t = greedy(s->model(), prompt(*s), 40, {});
        const double worst = compare(s->model(), t, {});
        QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
    }

    void lowRankRunsAsFactors()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        const TokenWindows calib = calibrationWindows(s->tokenizeFile(testdata::calibText()), CalibOptions{}, "calib");
        const LowRankResult r = factorizeModel(s->model(), calib,
                                               {{"model.layers.0.mlp.down_proj.weight", 24}, {"model.layers.4.self_attn.q_proj.weight", 16},
                                                {"model.layers.4.self_attn.v_proj.weight", 8}},
                                               false);
        const Trace t = greedy(*r.model, prompt(*s), 48, {});
        const double worst = compare(*r.model, t, {});
        QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
        // the factors are read, not the product: fewer bytes per token than the dense model
        decode::Decoder dense(s->model(), {}), factored(*r.model, {});
        int64_t delta = 0; // BF16 matrices (2 bytes a weight) replaced by fp32 factors (4)
        for (const LowRankLayerResult& l : r.layers)
            delta += 2 * l.rows * l.cols - 4 * l.rank * (l.rows + l.cols);
        QCOMPARE(dense.weightBytesPerToken() - factored.weightBytesPerToken(), delta);
    }

    void blockTypesExact_data()
    {
        QTest::addColumn<QString>("type");
        QTest::newRow("q8_0") << "q8_0";
        QTest::newRow("q4_0") << "q4_0";
        QTest::newRow("q5_1") << "q5_1";
        QTest::newRow("q4_k_m (fallbacks)") << "q4_k_m";
        QTest::newRow("iq4_nl (rows decoded)") << "iq4_nl";
    }

    // Packed blocks decoded on the fly against fp32 inputs: the logits of the
    // fake-quantized forward (which decodes the same bytes).
    void blockTypesExact()
    {
        QFETCH(QString, type);
        const auto s = ModelSession::open(testdata::tinystories12L());
        GgufExportOptions g;
        g.type = type.toStdString();
        const auto q = ggufQuantizedModel(s->model(), {}, g);
        decode::DecoderOptions opt;
        opt.exact_activations = true;
        const Trace t = greedy(*q, prompt(*s), 32, opt);
        const double worst = compare(*q, t, {});
        QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
        decode::Decoder packed(*q, opt), dense(s->model(), {});
        QVERIFY(packed.weightBytesPerToken() < dense.weightBytesPerToken());
    }

    // llama.cpp's way: the inputs rounded to Q8_0, int8 products. The logits
    // move by the input rounding; the text stays that of the quantized model.
    void int8ActivationsKeepTheTokens_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<double>("minAgreement");
        QTest::newRow("q8_0") << "q8_0" << 0.95;
        QTest::newRow("q4_0") << "q4_0" << 0.9;
    }

    void int8ActivationsKeepTheTokens()
    {
        QFETCH(QString, type);
        QFETCH(double, minAgreement);
        const auto s = ModelSession::open(testdata::tinystories12L());
        GgufExportOptions g;
        g.type = type.toStdString();
        const auto q = ggufQuantizedModel(s->model(), {}, g);
        const Trace t = greedy(*q, prompt(*s), 64, {});
        const at::Tensor ref = fullForward(*q, t.ids, {});
        int agree = 0;
        double worst = 0, scale = 0;
        for (std::size_t k = 0; k < t.logits.size(); ++k) {
            const int64_t p = t.prompt - 1 + int64_t(k);
            const at::Tensor mine = at::from_blob(const_cast<float*>(t.logits[k].data()), {int64_t(t.logits[k].size())}, at::kFloat);
            agree += ref[p].argmax().item<int64_t>() == t.ids[std::size_t(p + 1)];
            worst = std::max(worst, (mine - ref[p]).abs().max().item<double>());
            scale = std::max(scale, ref[p].abs().max().item<double>());
        }
        qInfo("%s int8 inputs: top-1 agreement %d/64 with fp32 inputs, max |logit diff| %.3g (max |logit| %.3g)",
              qPrintable(type), agree, worst, scale);
        QVERIFY(agree >= int(minAgreement * 64));
        QVERIFY(worst > 0);           // the inputs really were rounded
        QVERIFY(worst < 0.05 * scale); // and by the size of Q8_0 rounding, not more
    }

    void int8KernelsEqualTheirDefinition_data()
    {
        QTest::addColumn<QString>("type");
        QTest::addColumn<bool>("vector");
        for (const char* t : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q6_k", "q5_k", "iq4_nl", "iq4_xs", "tq1_0", "tq2_0"})
            for (bool v : {true, false})
                QTest::newRow(qPrintable(QString("%1 %2").arg(t, v ? "avx2" : "portable"))) << QString(t) << v;
    }

    // Each kernel against its definition: Σ (decoded weight) · (input rounded
    // to Q8_0), in double; the exact mode against Σ (decoded weight) · input.
    void int8KernelsEqualTheirDefinition()
    {
        QFETCH(QString, type);
        QFETCH(bool, vector);
        const bool before = decode::useVectorKernels(vector);
        const std::shared_ptr<void> restore(nullptr, [before](void*) { decode::useVectorKernels(before); });
        if (vector && !decode::vectorKernels())
            QSKIP("this CPU has no AVX2");
        const auto t = *gguf::typeFromName(type.toStdString());
        const int64_t rows = 37, cols = 768;
        at::manual_seed(3);
        const at::Tensor w = at::randn({rows, cols}) * 0.05 + (at::rand({rows, cols}) > 0.99).to(at::kFloat) * 0.5;
        const QByteArray bytes = gguf::encodeRows(w, t);
        const decode::PackedMatrix m = decode::PackedMatrix::over(t, rows, cols, bytes.constData());
        std::vector<float> x(static_cast<std::size_t>(cols));
        for (int64_t i = 0; i < cols; ++i)
            x[std::size_t(i)] = float(std::sin(0.37 * double(i)) * (1 + (i % 97 == 0 ? 20 : 0)));
        std::vector<float> deq(static_cast<std::size_t>(rows * cols));
        gguf::dequantizeRows(t, bytes.constData(), deq.data(), rows * cols);
        // a type without an int8 kernel (q5_k, the i-quants): rows decoded to fp32 against the unrounded input
        const bool int8 = decode::kernels::hasInt8Kernel(t);
        for (bool exact : {false, true}) {
            decode::Activation a;
            a.set(x.data(), cols, exact);
            std::vector<float> y(static_cast<std::size_t>(rows));
            decode::matVec(m, a, y.data());
            for (int64_t r = 0; r < rows; ++r) {
                double ref = 0, mag = 0;
                for (int64_t i = 0; i < cols; ++i) {
                    const double xi = exact || !int8 ? double(x[std::size_t(i)]) : double(a.q8()[i]) * double(a.q8Scales()[i / 32]);
                    ref += double(deq[std::size_t(r * cols + i)]) * xi;
                    mag += std::abs(double(deq[std::size_t(r * cols + i)]) * xi);
                }
                if (std::abs(double(y[std::size_t(r)]) - ref) > 1e-5 * mag)
                    QFAIL(qPrintable(QString("row %1 (%2): %3 vs %4").arg(r).arg(exact ? "exact" : "int8").arg(y[std::size_t(r)]).arg(ref)));
            }
        }
        // Q8_0 rounding of the input moves the result, but only by its size
        decode::Activation a;
        a.set(x.data(), cols, false);
        double err = 0, ref = 0;
        for (int64_t i = 0; i < cols; ++i) {
            err = std::max(err, std::abs(double(a.q8()[i]) * double(a.q8Scales()[i / 32]) - double(x[std::size_t(i)])));
            ref = std::max(ref, std::abs(double(x[std::size_t(i)])));
        }
        QVERIFY(err > 0 && err <= ref / 127 + 1e-6);
    }

    // A model wide enough for the K types (256-value super-blocks): Q4_K_M
    // (Q4_K and Q6_K rows) decodes with int8 products.
    void kQuantModelDecodes()
    {
        QTemporaryDir dir;
        SyntheticShape shape;
        shape.hidden = 256, shape.intermediate = 512, shape.n_layer = 3, shape.n_head = 4, shape.n_head_kv = 2, shape.vocab = 512;
        writeSyntheticCheckpoint(dir.path().toStdString(), shape, "BF16", testdata::tinystories12L());
        const auto s = ModelSession::open(dir.path().toStdString());
        GgufExportOptions g;
        g.type = "q4_k_m";
        const auto q = ggufQuantizedModel(s->model(), {}, g);
        QVERIFY(q->ggmlPacking("model.layers.0.mlp.up_proj.weight")->type == gguf::TensorType::Q4_K);
        decode::DecoderOptions exact;
        exact.exact_activations = true;
        const Trace te = greedy(*q, prompt(*s), 24, exact);
        QVERIFY2(compare(*q, te, {}) < 1e-4, "exact mode");
        const Trace t8 = greedy(*q, prompt(*s), 24, {});
        double worst = 0, scale = 0;
        // the steps where both have decoded the same text so far
        for (std::size_t k = 0; k < t8.logits.size() && t8.ids[std::size_t(t8.prompt) + k] == te.ids[std::size_t(te.prompt) + k]; ++k)
            for (std::size_t v = 0; v < t8.logits[k].size(); ++v) {
                worst = std::max(worst, double(std::abs(t8.logits[k][v] - te.logits[k][v])));
                scale = std::max(scale, double(std::abs(te.logits[k][v])));
            }
        qInfo("q4_k_m, int8 vs fp32 inputs while the texts agree: max |logit diff| %.3g of max |logit| %.3g", worst, scale);
        QVERIFY(worst > 0 && worst < 0.05 * scale);
    }

    void promptInPieces()
    {
        // prefill, steps, then another batch: the cache carries on
        const auto s = ModelSession::open(testdata::tinystories12L());
        const std::vector<int32_t> ids = s->tokenizer().encode("Once upon a time, there was a little girl named Lily. She");
        decode::Decoder whole(s->model(), {}), pieces(s->model(), {});
        const std::vector<float> a = whole.prefill(ids);
        pieces.prefill({ids.begin(), ids.begin() + 4});
        pieces.step(ids[4]);
        const std::vector<float> b = pieces.prefill({ids.begin() + 5, ids.end()});
        QCOMPARE(pieces.position(), int64_t(ids.size()));
        double worst = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
            worst = std::max(worst, double(std::abs(a[i] - b[i])));
        QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
    }

    void badInput()
    {
        const auto s = ModelSession::open(testdata::stories260K());
        decode::DecoderOptions opt;
        opt.max_positions = 4;
        decode::Decoder d(s->model(), opt);
        QCOMPARE(QString::fromStdString(testdata::errorOf([&] { d.step(600); })),
                 QString("token id 600 is outside the vocabulary (512 tokens)"));
        QCOMPARE(QString::fromStdString(testdata::errorOf([&] { d.prefill({1, 2, 3, 4, 5}); })),
                 QString("the prompt needs 5 positions; the decoder's cache has 4"));
        d.prefill({1, 2, 3, 4});
        QCOMPARE(QString::fromStdString(testdata::errorOf([&] { d.step(5); })), QString("the decoder's cache is full (4 positions)"));
        opt.drop_blocks = {0, 1, 2, 3, 4, 5};
        QVERIFY(QString::fromStdString(testdata::errorOf([&] { decode::Decoder bad(s->model(), opt); })).contains("block"));
    }
};

QTEST_GUILESS_MAIN(TestDecoder)
#include "test_decoder.moc"
