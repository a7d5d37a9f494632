// Generation with the KV cache (#7): stories260K's greedy continuation equals
// the original llama2.c output word for word; cached decoding agrees with the
// full forward; sampling is reproducible by seed.
#include <ATen/ATen.h>

#include "core/util/error.h"
#include "core/decode/generate.h"
#include "core/model/llama_forward.h"
#include "core/model/model_session.h"
#include "core/tokenizer/tokenizer.h"
#include "test_data.h"

#include <QtTest>

using namespace tailor;

class TestGenerate : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void llama2cGreedyText()
    {
        const auto s = ModelSession::open(testdata::stories260K());
        GenerateOptions opt; // greedy, 100 positions
        const GenerateResult r = generate(s->model(), s->tokenizer(), "Once upon a time", opt);
        const std::string expected =
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a "
            "big, red ball. She wanted to play with it, but it was too high.\n"
            "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know w";
        QCOMPARE(QString::fromStdString(r.text), QString::fromStdString(expected));
        QCOMPARE(int(r.ids.size()), 101);
        QVERIFY(r.decode_tokens_per_s > 0 && r.prefill_tokens_per_s > 0);
    }

    void cachedDecodingMatchesFullForward()
    {
        const auto s = ModelSession::open(testdata::tinystories12L());
        GenerateOptions opt;
        opt.max_positions = 60;
        const GenerateResult r = generate(s->model(), s->tokenizer(), "Once upon a time", opt);
        QVERIFY(QString::fromStdString(r.text).startsWith("Once upon a time, there was a little girl named Lily. She loved to play outside"));
        std::vector<int64_t> ids(r.ids.begin(), r.ids.end() - 1);
        at::NoGradGuard ng;
        const at::Tensor t = at::from_blob(ids.data(), {1, int64_t(ids.size())}, at::kLong);
        const at::Tensor h = runBlocks(s->model(), s->model().embed(t), 0, s->model().nBlocks(), makeRope(s->model().config(), t.size(1)));
        const at::Tensor next = headLogits(s->model(), h)[0].argmax(-1);
        for (int64_t p = r.prompt_tokens - 1; p < int64_t(ids.size()); ++p)
            QCOMPARE(int32_t(next[p].item<int64_t>()), r.ids[std::size_t(p + 1)]);
    }

    void samplingIsSeeded()
    {
        const auto s = ModelSession::open(testdata::stories260K());
        GenerateOptions opt;
        opt.temperature = 0.9;
        opt.top_p = 0.9;
        opt.seed = 7;
        opt.max_positions = 50;
        const auto a = generate(s->model(), s->tokenizer(), "Once upon a time", opt);
        const auto b = generate(s->model(), s->tokenizer(), "Once upon a time", opt);
        QCOMPARE(a.ids, b.ids);
        opt.seed = 8;
        const auto c = generate(s->model(), s->tokenizer(), "Once upon a time", opt);
        QVERIFY(c.ids != a.ids);
    }

    void badSettings()
    {
        const auto s = ModelSession::open(testdata::stories260K());
        GenerateOptions opt;
        opt.top_p = 0;
        QVERIFY(testdata::throwsWith([&] { generate(s->model(), s->tokenizer(), "Hi", opt); }, "temperature must be >= 0 and top-p in (0, 1]"));
        opt.top_p = 1;
        opt.max_positions = 3;
        QVERIFY(testdata::throwsWith([&] { generate(s->model(), s->tokenizer(), "Once upon a time there was", opt); }, "the prompt has 7 tokens; --max-tokens leaves no room to generate"));
        opt.max_positions = 20;
        opt.drop_blocks = {0, 1, 2, 3, 4};
        QVERIFY(testdata::throwsWith([&] { generate(s->model(), s->tokenizer(), "Hi", opt); }, "cannot drop every block of the model"));
    }
};

QTEST_GUILESS_MAIN(TestGenerate)
#include "test_generate.moc"
