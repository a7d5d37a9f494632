// GGUF export against llama.cpp's own quantizer (#15), in one run on the same
// model: Tailor's direct Q4_K_M export (with an importance matrix) over
// llama_model_quantize's time on Tailor's F32 export with the same weights,
// both with the same number of threads; the two files are also compared byte
// for byte. Links the prebuilt libllama of node-llama-cpp 3.21.1
// (scripts/fetch_fixtures.sh).
//   bench_gguf MODEL_DIR [TYPE]      (the synthetic 1.1B shape: bench_write_synthetic)
#include "bench_common.h"
#include "core/util/compute_threads.h"
#include "core/formats/gguf/ggml_blocks.h"

#include <ATen/Parallel.h>
#include "core/formats/gguf/ggml_quants.h"
#include "core/export/gguf_export.h"
#include "core/formats/gguf/gguf_reader.h"
#include "core/analysis/imatrix.h"
#include "core/model/model.h"
#include "core/model/model_session.h"

#include <llama.h>

#include <QFile>
#include <cstring>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_gguf MODEL_DIR [TYPE]\n");
        return 2;
    }
    using namespace tailor;
    const std::string type = argc > 2 ? argv[2] : "q4_k_m";
    const int threads = setComputeThreads(2); // fixed: llama_model_quantize gets the same number
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    llama_backend_init();
    {
        // the kernels alone, one thread, same data: Tailor's quantizer vs ggml_quantize_chunk
        const int64_t rows = 512, cols = 2048;
        const at::Tensor x = at::randn({rows, cols}) * 0.02;
        std::vector<float> qw(static_cast<std::size_t>(cols));
        for (auto& v : qw)
            v = 0.5f + float(std::rand() % 100) / 100.f;
        const auto t = gguf::mixture(type).base;
        std::vector<uint8_t> a(std::size_t(gguf::rowBytes(t, cols) * rows)), b(a.size());
        const double ta = bench::seconds([&] { gguf::quantizeRows(t, x.data_ptr<float>(), a.data(), rows, cols, qw.data()); });
        const double tb = bench::seconds([&] { ggml_quantize_chunk(ggml_type(t), x.data_ptr<float>(), b.data(), 0, rows, cols, qw.data()); });
        std::printf("kernel %s with importance weights, 1 thread, %lld x %lld: Tailor %.3f s, ggml %.3f s (ratio %.2f, same bytes: %s)\n",
                    gguf::typeName(t).c_str(), (long long)rows, (long long)cols, ta, tb, ta / tb, a == b ? "yes" : "NO");
        const at::Tensor big = at::randn({2048, 2048}) * 0.02;
        const double te = bench::seconds([&] { gguf::encodeRows(big, t, qw); });
        std::printf("encodeRows 2048 x 2048 with %d threads: %.3f s (%.2f x one thread's rows/s)\n", at::get_num_threads(), te,
                    ta * 4 / te);
        std::fflush(stdout);
    }
    const auto session = ModelSession::open(argv[1]);
    CalibOptions co;
    co.windows = 4;
    co.seq_len = 128;
    Imatrix im;
    const double tIm = bench::seconds([&] {
        im = computeImatrix(session->model(), session->calibration(std::string(TAILOR_SOURCE_RESOURCES) + "/data/tinystories-calib-50.txt", co), "calib");
    });
    const std::string f32 = "/tmp/bench_gguf.f32.gguf", ours = "/tmp/bench_gguf.tailor.gguf", theirs = "/tmp/bench_gguf.llama.gguf";
    GgufExportOptions fo;
    fo.type = "f32";
    fo.force = true;
    const double tF32 = bench::seconds([&] { exportGguf(session->model(), {}, f32, fo); });

    GgufExportOptions o;
    o.type = type;
    o.force = true;
    o.imatrix = &im;
    const double tOurs = bench::seconds([&] { exportGguf(session->model(), {}, ours, o); });

    std::vector<std::vector<float>> keep;
    std::vector<llama_model_imatrix_data> entries;
    for (const auto& [name, e] : im.entries) {
        keep.push_back(im.weights(name));
        entries.push_back({name.c_str(), keep.back().data(), keep.back().size()});
    }
    entries.push_back({nullptr, nullptr, 0});
    llama_model_quantize_params qp = llama_model_quantize_default_params();
    qp.ftype = llama_ftype(gguf::mixture(type).ftype);
    qp.nthread = threads;
    qp.imatrix = entries.data();
    uint32_t rc = 0;
    const double tTheirs = bench::seconds([&] { rc = llama_model_quantize(f32.c_str(), theirs.c_str(), &qp); });

    const auto a = gguf::File::open(ours), b = gguf::File::open(theirs);
    int same = 0;
    for (const auto& t : a->tensors()) {
        const auto* u = b->tensor(t.name);
        same += u && u->type == t.type && u->bytes == t.bytes && std::memcmp(a->data(t), b->data(*u), std::size_t(t.bytes)) == 0;
    }
    std::printf("model %s, %s with an importance matrix, %d threads\n", argv[1], type.c_str(), threads);
    std::printf("importance matrix (4 x 128 tokens): %.1f s; F32 export: %.1f s\n", tIm, tF32);
    std::printf("Tailor direct export: %.1f s; llama_model_quantize on the F32 export: %.1f s (rc %u)\n", tOurs, tTheirs, rc);
    std::printf("ratio Tailor / llama.cpp: %.2f; identical tensors: %d of %zu\n", tOurs / tTheirs, same, a->tensors().size());
    QFile::remove(QString::fromStdString(f32));
    QFile::remove(QString::fromStdString(ours));
    QFile::remove(QString::fromStdString(theirs));
    return rc == 0 && same == int(a->tensors().size()) ? 0 : 1;
}
