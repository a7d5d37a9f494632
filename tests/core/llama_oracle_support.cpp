#include "llama_oracle_support.h"
#include "core/formats/gguf/gguf_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tailor::oracle {

void quiet(ggml_log_level level, const char* text, void*)
{
    if (level == GGML_LOG_LEVEL_ERROR)
        std::fputs(text, stderr);
}

// Same names, types and bytes; otherwise what differs first.
QString compareGguf(const std::string& ours, const std::string& theirs)
{
    const auto a = gguf::File::open(ours), b = gguf::File::open(theirs);
    if (a->tensors().size() != b->tensors().size())
        return QString("%1 tensors vs llama.cpp's %2").arg(a->tensors().size()).arg(b->tensors().size());
    for (const auto& t : a->tensors()) {
        const gguf::TensorInfo* u = b->tensor(t.name);
        if (!u)
            return QString("llama.cpp's file has no %1").arg(t.name.c_str());
        if (t.type != u->type)
            return QString("%1: %2 vs llama.cpp's %3").arg(t.name.c_str(), gguf::typeName(t.type).c_str(), gguf::typeName(u->type).c_str());
        if (t.ne != u->ne || t.bytes != u->bytes)
            return QString("%1: shape or size differs").arg(t.name.c_str());
        if (std::memcmp(a->data(t), b->data(*u), std::size_t(t.bytes)) != 0)
            return QString("%1 (%2): bytes differ").arg(t.name.c_str(), gguf::typeName(t.type).c_str());
    }
    return {};
}

// llama_model_quantize (llama-quantize) of an F32 file, with importance
// weights under the names given and --tensor-type overrides; 0 on success.
uint32_t llamaQuantize(const std::string& f32, const std::string& out, llama_ftype ftype,
                       const std::vector<std::pair<std::string, std::vector<float>>>& imatrix,
                       const std::vector<gguf::TypeOverride>& overrides)
{
    std::vector<llama_model_imatrix_data> entries;
    for (const auto& [name, w] : imatrix)
        entries.push_back({name.c_str(), w.data(), w.size()});
    entries.push_back({nullptr, nullptr, 0});
    std::vector<llama_model_tensor_override> tt;
    for (const auto& ov : overrides)
        tt.push_back({ov.pattern.c_str(), ggml_type(ov.type)});
    tt.push_back({nullptr, GGML_TYPE_COUNT});
    llama_model_quantize_params qp = llama_model_quantize_default_params();
    qp.ftype = ftype;
    qp.nthread = 2;
    qp.imatrix = imatrix.empty() ? nullptr : entries.data(); // none, not an empty one
    qp.tt_overrides = overrides.empty() ? nullptr : tt.data();
    return llama_model_quantize(f32.c_str(), out.c_str(), &qp);
}

double llamaPerplexity(const std::string& file, const TokenWindows& w)
{
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    std::unique_ptr<llama_model, void (*)(llama_model*)> model(llama_model_load_from_file(file.c_str(), mp), llama_model_free);
    if (!model)
        qFatal("libllama did not load %s", file.c_str());
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = uint32_t(w.seq_len);
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = 2;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = true;
    std::unique_ptr<llama_context, void (*)(llama_context*)> ctx(llama_init_from_model(model.get(), cp), llama_free);
    const int32_t vocab = llama_vocab_n_tokens(llama_model_get_vocab(model.get()));
    llama_batch batch = llama_batch_init(int32_t(w.seq_len), 0, 1);
    double nll = 0;
    int64_t n = 0;
    for (int64_t k = 0; k < w.count; ++k) {
        llama_memory_clear(llama_get_memory(ctx.get()), true);
        const int64_t* ids = w.ids.data() + k * w.seq_len;
        batch.n_tokens = int32_t(w.seq_len);
        for (int32_t i = 0; i < batch.n_tokens; ++i) {
            batch.token[i] = llama_token(ids[i]);
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = 1;
        }
        if (llama_decode(ctx.get(), batch) != 0)
            qFatal("llama_decode failed on %s", file.c_str());
        for (int32_t i = 0; i + 1 < batch.n_tokens; ++i) {
            const float* logits = llama_get_logits_ith(ctx.get(), i);
            double mx = -1e300, sum = 0;
            for (int32_t v = 0; v < vocab; ++v)
                mx = std::max(mx, double(logits[v]));
            for (int32_t v = 0; v < vocab; ++v)
                sum += std::exp(double(logits[v]) - mx);
            nll += mx + std::log(sum) - double(logits[ids[i + 1]]);
            ++n;
        }
    }
    llama_batch_free(batch);
    return std::exp(nll / double(n));
}

} // namespace tailor::oracle
