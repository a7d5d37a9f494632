// Batch-1 generation speed against llama.cpp on the same weights, in one run
// (#17). For each storage (the checkpoint's BF16 read as F16 GGUF by llama.cpp;
// Q8_0; Q4_0) Tailor's decoder and libllama's llama_decode (node-llama-cpp
// 3.21.1's prebuilt CPU backend, the variant it picks for this CPU) run the same
// prompt length and number of decoded tokens with the same thread count:
// medians of the repeated runs after a warm-up. Then the depth claim: the
// model without a quarter of its blocks, measured speed-up against the one
// predicted from the weight bytes a token reads.
//   bench_decode MODEL_DIR [PROMPT=128] [DECODE=32] [REPEATS=3] [THREADS=2]
#include "bench_common.h"
#include "core/util/compute_threads.h"
#include "core/decode/decode_speed.h"
#include "core/decode/packed_matrix.h"
#include "core/export/gguf_export.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/model/llama_forward.h"
#include "core/eval/perplexity.h"
#include "core/decode/packed_gemm.h"

#include <llama.h>

#include <QDir>
#include <QTemporaryDir>
#include <algorithm>
#include <cstring>

namespace {

struct LlamaSpeed {
    double prefill = 0, decode = 0; // medians, tokens/s
    double decodeMin = 0, decodeMax = 0;
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

LlamaSpeed llamaSpeed(const std::string& file, int64_t promptLen, int64_t decodeLen, int repeats, int threads, int32_t vocabSize)
{
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model* model = llama_model_load_from_file(file.c_str(), mp);
    if (!model) {
        std::fprintf(stderr, "libllama did not load %s\n", file.c_str());
        std::exit(1);
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = uint32_t(promptLen + decodeLen + 16);
    cp.n_batch = cp.n_ubatch = uint32_t(promptLen);
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.no_perf = true;
    llama_context* ctx = llama_init_from_model(model, cp);
    llama_batch batch = llama_batch_init(int32_t(promptLen), 0, 1);
    std::vector<double> pre, dec;
    for (int run = 0; run <= repeats; ++run) {
        llama_memory_clear(llama_get_memory(ctx), true);
        batch.n_tokens = int32_t(promptLen);
        for (int32_t i = 0; i < batch.n_tokens; ++i) { // the same ids as measureDecodeSpeed
            batch.token[i] = llama_token((int64_t(i) * 7919 + 13) % vocabSize);
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = i + 1 == batch.n_tokens;
        }
        const double tp = bench::seconds([&] { llama_decode(ctx, batch); });
        const float* l = llama_get_logits_ith(ctx, -1);
        llama_token next = llama_token(std::max_element(l, l + vocabSize) - l);
        const double td = bench::seconds([&] {
            for (int64_t k = 0; k < decodeLen; ++k) {
                batch.n_tokens = 1;
                batch.token[0] = next;
                batch.pos[0] = llama_pos(promptLen + k);
                batch.logits[0] = 1;
                llama_decode(ctx, batch);
                const float* lk = llama_get_logits_ith(ctx, -1);
                next = llama_token(std::max_element(lk, lk + vocabSize) - lk);
            }
        });
        if (run > 0) {
            pre.push_back(double(promptLen) / tp);
            dec.push_back(double(decodeLen) / td);
        }
    }
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    LlamaSpeed s;
    s.prefill = median(pre);
    s.decode = median(dec);
    s.decodeMin = *std::min_element(dec.begin(), dec.end());
    s.decodeMax = *std::max_element(dec.begin(), dec.end());
    return s;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_decode MODEL_DIR [PROMPT] [DECODE] [REPEATS] [THREADS]\n");
        return 2;
    }
    using namespace tailor;
    const int64_t promptLen = argc > 2 ? std::atoll(argv[2]) : 128;
    const int64_t decodeLen = argc > 3 ? std::atoll(argv[3]) : 32;
    const int repeats = argc > 4 ? std::atoi(argv[4]) : 3;
    const int threads = setComputeThreads(argc > 5 ? std::atoi(argv[5]) : 2);
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    ggml_backend_load_all_from_path(TAILOR_LLAMA_LIB);
    llama_backend_init();
    std::printf("decoder kernels: %s; threads %d; prompt %lld, decode %lld tokens, %d runs after a warm-up\n",
                decode::vectorKernels() ? "AVX2" : "portable", threads, (long long)promptLen, (long long)decodeLen, repeats);
    const auto session = ModelSession::open(argv[1]);
    const Model& dense = session->model();
    const int32_t vocab = int32_t(dense.config().vocab_size);
    QTemporaryDir tmp;
    DecodeSpeedOptions so;
    so.prompt_tokens = promptLen;
    so.decode_tokens = decodeLen;
    so.repeats = repeats;
    so.threads = threads;

    // Prefill's ceiling: the int8 GEMM's in-cache rate over the multiply-adds a
    // prompt token costs in the blocks' linear layers (#32)
    double linearMacs = 0;
    for (int b = 0; b < dense.nBlocks(); ++b)
        for (TensorRole r : linearRoles())
            linearMacs += double(dense.raw(hfTensorName(r, b)).numel());
    const double peak = bench::int8PeakMacs(threads);
    std::printf("int8 GEMM (%s) in cache: %.1f G multiply-adds/s; prefill roofline %.1f tokens/s (%.2f G multiply-adds a token)\n",
                decode::gemmKernelName(decode::bestGemmKernel()), peak / 1e9, peak / linearMacs, linearMacs / 1e9);
    std::printf("\n| weights | Tailor prefill | llama.cpp prefill | ratio | of int8 roofline | Tailor decode (min–max) | llama.cpp decode (min–max) | ratio | "
                "Tailor roofline |\n|---|---|---|---|---|---|---|---|---|\n");
    std::fflush(stdout);
    const struct {
        const char* label;
        const char* ggufType;
    } rows[] = {{"BF16 checkpoint / F16 GGUF", "f16"}, {"Q8_0", "q8_0"}, {"Q4_0", "q4_0"}, {"Q4_K_M", "q4_k_m"}};
    std::string evalRows;
    for (const auto& row : rows) {
        const std::string file = (tmp.path() + "/model-" + row.ggufType + ".gguf").toStdString();
        GgufExportOptions g;
        g.type = row.ggufType;
        exportGguf(dense, {}, file, g);
        // Tailor decodes the checkpoint as stored for the float row, the packed blocks otherwise
        const std::shared_ptr<Model> mine = std::string(row.ggufType) == "f16" ? nullptr : ggufQuantizedModel(dense, {}, g);
        const DecodeSpeed t = measureDecodeSpeed(mine ? *mine : dense, so);
        const LlamaSpeed l = llamaSpeed(file, promptLen, decodeLen, repeats, threads, vocab);
        const bool packed = std::string(row.ggufType) != "f16";
        std::printf("| %s | %.1f | %.1f | %.2f | %s | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.2f | %.2f tokens/s (%.2f GB/token, %.1f GB/s) |\n",
                    row.label, t.prefill.median, l.prefill, t.prefill.median / l.prefill,
                    packed ? QString::number(t.prefill.median / (peak / linearMacs), 'f', 2).toUtf8().constData() : "–", t.decode.median, t.decode.min, t.decode.max,
                    l.decode, l.decodeMin, l.decodeMax, t.decode.median / l.decode, t.roofline_tokens_per_s,
                    double(t.weight_bytes_per_token) / 1e9, t.read_bandwidth / 1e9);
        std::fflush(stdout);
        QFile::remove(QString::fromStdString(file));
        if (mine) { // the evaluation's forward on the same weights: exact fp32 against int8 (#32)
            TokenWindows w;
            w.seq_len = 256;
            w.count = 4;
            for (int64_t i = 0; i < w.count * w.seq_len; ++i)
                w.ids.push_back((i * 7919 + 13) % vocab);
            EvalOptions eo;
            eo.threads = threads;
            const EvalResult exact = evaluateWindows(*mine, w, eo);
            eo.int8_products = true;
            const EvalResult i8 = evaluateWindows(*mine, w, eo);
            evalRows += "| " + std::string(row.label) + " | " + QString::number(exact.tokens_per_s, 'f', 1).toStdString() + " | " +
                        QString::number(i8.tokens_per_s, 'f', 1).toStdString() + " | " +
                        QString::number(i8.tokens_per_s / exact.tokens_per_s, 'f', 2).toStdString() + " | " +
                        QString::number(i8.ppl / exact.ppl - 1, 'e', 1).toStdString() + " |\n";
        }
    }
    std::printf("\nevaluation (4 windows of 256 tokens, perplexity): tokens/s\n\n| weights | fp32 on dequantized weights | int8 GEMM | "
                "ratio | PPL int8 / fp32 − 1 |\n|---|---|---|---|---|\n%s",
                evalRows.c_str());

    // Depth: drop the last quarter of the blocks but the final one (which
    // blocks does not matter for speed).
    const int n = dense.nBlocks(), drop = n / 4;
    std::vector<int> dropped;
    for (int b = n - 1 - drop; b < n - 1; ++b)
        dropped.push_back(b);
    const DecodeSpeed full = measureDecodeSpeed(dense, so);
    DecodeSpeedOptions po = so;
    po.drop_blocks = dropped;
    const DecodeSpeed pruned = measureDecodeSpeed(dense, po);
    const double predicted = double(full.bytesPerToken()) / double(pruned.bytesPerToken()); // weights and KV cache
    const double measured = pruned.decode.median / full.decode.median;
    std::printf("\ndepth: %d of %d blocks dropped: decode %.2f -> %.2f tokens/s, measured speed-up %.3f, predicted from bytes %.3f "
                "(measured / predicted %.3f)\n",
                drop, n, full.decode.median, pruned.decode.median, measured, predicted, measured / predicted);
    return 0;
}
