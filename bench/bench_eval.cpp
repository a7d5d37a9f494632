// Perplexity throughput (#2):
//  1. a synthetic Llama of TinyLlama-1.1B dimensions (a few blocks, BF16,
//     random weights written here): achieved GFLOP/s = 2 x matmul parameters x
//     tokens / time, over libtorch's own sgemm GFLOP/s in the same run;
//  2. tinystories-12L at L = 128: batched windows vs one window at a time;
//  3. peak RSS while evaluating the BF16 checkpoint vs its size.
// Usage: bench_eval [--blocks N] [--threads T] [--work DIR]
#include "bench_common.h"

#include "core/util/compute_threads.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/eval/perplexity.h"
#include "tests/support/synthetic_checkpoint.h"

#include <QDir>
#include <QTemporaryDir>
#include <cstring>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

using namespace tailor;

int main(int argc, char** argv)
{
    int blocks = 4, threads = 0;
    std::string work;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--blocks")) blocks = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--work")) work = argv[i + 1];
    }
    const int nThreads = setComputeThreads(threads);
    QTemporaryDir tmp;
    if (work.empty())
        work = tmp.path().toStdString();
    const std::string res = TAILOR_SOURCE_RESOURCES;
    const std::string dir = work + "/tinyllama-shape";
    SyntheticShape shape = SyntheticShape::tinyLlama1B();
    shape.n_layer = blocks;
    // Written by a child process so its buffers do not count in this process's peak RSS.
    const double tWrite = bench::seconds([&] {
        const pid_t pid = fork();
        if (pid == 0) {
            writeSyntheticCheckpoint(dir, shape, "BF16", res + "/models/tinystories-12L");
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
    });
    const double sgemm = bench::sgemmGflops();
    std::printf("threads %d, libtorch sgemm 2048^3: %.1f GFLOP/s\n", nThreads, sgemm);

    auto model = Model::load(dir);
    const ModelConfig& c = model->config();
    const double matmulParams = double(blocks) * double(c.blockParameters() - 2 * c.hidden_size) +
                                double(c.vocab_size) * double(c.hidden_size);
    std::vector<int32_t> ids(32 * 128);
    std::mt19937 rng(1);
    for (auto& id : ids)
        id = int32_t(rng() % 32000);
    for (int64_t L : {128, 512}) {
        EvalOptions opt;
        opt.seq_len = L;
        opt.threads = threads;
        evaluatePerplexity(*model, std::vector<int32_t>(ids.begin(), ids.begin() + L), opt); // warm-up
        const EvalResult r = evaluatePerplexity(*model, ids, opt);
        const double gflops = 2.0 * matmulParams * double(r.tokens) / r.seconds / 1e9;
        std::printf("1.1B-shape, %d blocks, L=%lld, %lld tokens: %.2f s, %.0f tokens/s, %.1f GFLOP/s, ratio to sgemm %.2f\n",
                    blocks, (long long)L, (long long)r.tokens, r.seconds, r.tokens_per_s, gflops, gflops / sgemm);
    }
    std::printf("(checkpoint of %d blocks written in %.1f s)\n", blocks, tWrite);

    // Small models are overhead-bound: batched windows vs one window at a time.
    auto session = ModelSession::open(res + "/models/tinystories-12L");
    const auto text = session->tokenizeFile(res + "/data/tinystories-valid-99.txt");
    EvalOptions small;
    small.seq_len = 128;
    small.threads = threads;
    evaluatePerplexity(session->model(), text, small);
    const EvalResult batched = evaluatePerplexity(session->model(), text, small);
    small.batch_tokens = 128;
    const EvalResult single = evaluatePerplexity(session->model(), text, small);
    std::printf("tinystories-12L L=128: batched %.0f tokens/s, one window at a time %.0f tokens/s, ratio %.2f (PPL %.6f = %.6f)\n",
                batched.tokens_per_s, single.tokens_per_s, batched.tokens_per_s / single.tokens_per_s, batched.ppl, single.ppl);

    // Memory of the evaluation itself: tailor-cli eval on the same checkpoint in a child process
    // (this process also generated the random weights and holds two models).
    const double fileBytes = double(model->checkpoint().totalBytes());
    const double rss = double(bench::childPeakRssBytes({TAILOR_CLI, "eval", dir, "--text", res + "/data/tinystories-valid-99.txt",
                                                        "--seq-len", "128", "--max-windows", "32"}));
    std::printf("tailor-cli eval peak RSS %.2f GB for a %.2f GB BF16 checkpoint: %.2f x size + %.2f GB (limit 1.3 x size + 1 GiB = %.2f GB)\n",
                rss / 1e9, fileBytes / 1e9, rss / fileBytes, (rss - fileBytes) / 1e9, (1.3 * fileBytes + 1073741824.0) / 1e9);
    std::printf("(this benchmark process: peak RSS %.2f GB)\n", double(bench::peakRssBytes()) / 1e9);
    return 0;
}
