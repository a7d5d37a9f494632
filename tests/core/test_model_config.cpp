// config.json parsing for the supported architectures (#2).
#include "core/util/error.h"
#include "core/model/memory_estimate.h"
#include "core/model/model_config.h"

#include <QtTest>

using namespace tailor;

class TestModelConfig : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void llama3WithRopeScaling()
    {
        const auto c = ModelConfig::fromJson(R"({"model_type":"llama","vocab_size":128256,"hidden_size":2048,
            "intermediate_size":8192,"num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,
            "rms_norm_eps":1e-5,"rope_theta":500000.0,"tie_word_embeddings":true,"bos_token_id":128000,
            "eos_token_id":[128001,128008],"head_dim":64,
            "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
                            "original_max_position_embeddings":8192,"rope_type":"llama3"}})", "config.json");
        QCOMPARE(c.head_dim, int64_t(64));
        QCOMPARE(c.n_head_kv, int64_t(8));
        QCOMPARE(c.rope_scaling.type, std::string("llama3"));
        QCOMPARE(c.eos_token_id, int64_t(128001));
        QVERIFY(c.tie_word_embeddings);
        // Llama-3.2-1B has 1.236 B parameters
        QCOMPARE(c.totalParameters(), int64_t(1235814400));
    }
    void qwen2HasBias()
    {
        const auto c = ModelConfig::fromJson(R"({"model_type":"qwen2","vocab_size":151936,"hidden_size":896,
            "intermediate_size":4864,"num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,
            "rope_theta":1000000.0,"tie_word_embeddings":true})", "config.json");
        QVERIFY(c.attention_bias);
        QCOMPARE(c.head_dim, int64_t(64));
        // Qwen2-0.5B: 494 M parameters
        QCOMPARE(c.totalParameters(), int64_t(494032768));
    }
    void errors_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("bad json") << R"({"model_type": )" << "not valid JSON";
        QTest::newRow("arch") << R"({"model_type":"falcon"})" << "'falcon' is not supported";
        QTest::newRow("missing") << R"({"model_type":"llama","vocab_size":10})" << "'hidden_size' is missing";
        QTest::newRow("type") << R"({"model_type":"llama","vocab_size":"10"})" << "'vocab_size' must be an integer";
        QTest::newRow("gqa") << R"({"model_type":"llama","vocab_size":10,"hidden_size":12,"intermediate_size":4,
            "num_hidden_layers":1,"num_attention_heads":6,"num_key_value_heads":4})" << "num_key_value_heads";
        QTest::newRow("rope") << R"({"model_type":"llama","vocab_size":10,"hidden_size":12,"intermediate_size":4,
            "num_hidden_layers":1,"num_attention_heads":6,"rope_scaling":{"type":"yarn","factor":4}})" << "'yarn' is not supported";
    }
    void errors()
    {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        try {
            ModelConfig::fromJson(json.toStdString(), "config.json");
            QFAIL("accepted");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
            QVERIFY(QString(e.what()).startsWith("config.json"));
        }
    }

    // The memory estimate: a 7B bf16 checkpoint fits a 24 GiB machine for every
    // job, a 70B one does not, and the refusal says the numbers.
    void memoryEstimate()
    {
        const auto llama7b = ModelConfig::fromJson(R"({"model_type":"llama","vocab_size":32000,"hidden_size":4096,
            "intermediate_size":11008,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":32})", "7b");
        const auto llama70b = ModelConfig::fromJson(R"({"model_type":"llama","vocab_size":32000,"hidden_size":8192,
            "intermediate_size":28672,"num_hidden_layers":80,"num_attention_heads":64,"num_key_value_heads":8})", "70b");
        qputenv("TAILOR_MEMORY_LIMIT", "25.7G"); // 24 GiB
        for (MemoryJob job : {MemoryJob::Evaluate, MemoryJob::BlockScan, MemoryJob::Taylor, MemoryJob::Quantize}) {
            const MemoryEstimate e = estimateMemory(llama7b, uint64_t(2 * llama7b.totalParameters()), job, 1280);
            QVERIFY2(e.total() < 25.7e9 && e.total() > 13.4e9, e.describe().c_str());
            requireMemory("7b", e);
        }
        const MemoryEstimate big = estimateMemory(llama70b, uint64_t(2 * llama70b.totalParameters()), MemoryJob::Evaluate, 1280);
        try {
            requireMemory("70b", big);
            QFAIL("a 70B bf16 model was accepted on 24 GiB");
        } catch (const Error& e) {
            qInfo("%s", e.what());
            QVERIFY(QString(e.what()).contains("70b: needs ≈ 1") && QString(e.what()).contains("this machine has 25.7 GB"));
        }
        qunsetenv("TAILOR_MEMORY_LIMIT");
    }
};

QTEST_GUILESS_MAIN(TestModelConfig)
#include "test_model_config.moc"
