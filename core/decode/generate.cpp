#include "generate.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/decode/decoder.h"
#include "core/model/model.h"
#include "core/tokenizer/tokenizer.h"

#include <ATen/core/grad_mode.h>
#include <chrono>
#include <random>

namespace tailor {

namespace {

int32_t pickToken(const at::Tensor& logits, const GenerateOptions& opt, std::mt19937_64& rng)
{
    if (opt.temperature <= 0)
        return int32_t(logits.argmax().item<int64_t>());
    const at::Tensor probs = at::softmax(logits.to(at::kDouble) / opt.temperature, -1);
    const auto [sorted, order] = probs.sort(-1, true);
    const at::Tensor cum = sorted.cumsum(-1);
    const double* p = sorted.data_ptr<double>();
    const double* c = cum.data_ptr<double>();
    int64_t keep = 1;
    while (keep < sorted.numel() && c[keep - 1] < opt.top_p)
        ++keep;
    double total = c[keep - 1];
    std::uniform_real_distribution<double> u(0.0, total);
    double r = u(rng), acc = 0;
    for (int64_t i = 0; i < keep; ++i) {
        acc += p[i];
        if (r <= acc)
            return int32_t(order[i].item<int64_t>());
    }
    return int32_t(order[keep - 1].item<int64_t>());
}

} // namespace

GenerateResult generate(const Model& model, const Tokenizer& tok, const std::string& prompt, const GenerateOptions& opt,
                        const ProgressFn& progress)
{
    setComputeThreads(opt.threads);
    at::NoGradGuard ng;
    if (opt.temperature < 0 || !(opt.top_p > 0 && opt.top_p <= 1))
        throw Error("temperature must be >= 0 and top-p in (0, 1]");
    GenerateResult res;
    res.ids = tok.encode(prompt);
    res.prompt_tokens = int64_t(res.ids.size());
    if (res.ids.empty())
        throw Error("the prompt encodes to no tokens");
    const int64_t maxPos = std::min<int64_t>(opt.max_positions, model.config().max_position_embeddings);
    if (res.prompt_tokens > maxPos)
        throw Error("the prompt has " + std::to_string(res.prompt_tokens) + " tokens; --max-tokens leaves no room to generate");
    decode::DecoderOptions dopt;
    dopt.drop_blocks = opt.drop_blocks;
    dopt.max_positions = maxPos;
    decode::Decoder decoder(model, dopt);
    std::mt19937_64 rng(opt.seed);
    const auto asTensor = [](const std::vector<float>& v) {
        return at::from_blob(const_cast<float*>(v.data()), {int64_t(v.size())}, at::kFloat);
    };
    auto t0 = std::chrono::steady_clock::now();
    at::Tensor logits = asTensor(decoder.prefill(res.ids));
    const double prefill = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.prefill_tokens_per_s = double(res.prompt_tokens) / std::max(prefill, 1e-9);
    t0 = std::chrono::steady_clock::now();
    int64_t generated = 0;
    // As llama2.c's `steps`: the model runs positions 0..max-1; the token
    // predicted at the last position is kept but never fed back.
    for (;;) {
        const int32_t next = pickToken(logits, opt, rng);
        res.ids.push_back(next);
        ++generated;
        if ((opt.stop_at_eos && next == tok.eosId()) || int64_t(res.ids.size()) > maxPos)
            break;
        if (opt.on_text)
            opt.on_text(tok.decode(res.ids));
        reportProgress(progress, double(res.ids.size()) / double(maxPos), "generating");
        logits = asTensor(decoder.step(next));
    }
    const double decode = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.decode_tokens_per_s = double(generated) / std::max(decode, 1e-9);
    res.text = tok.decode(res.ids);
    return res;
}

} // namespace tailor
