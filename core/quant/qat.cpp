#include "qat.h"
#include "linear_quantizer.h"
#include "core/model/arch_table.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/layer_selection.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/train/training.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <chrono>
#include <map>
#include <set>

namespace tailor {

void QatOptions::validate() const
{
    scheme.validate();
    if (!(quant_noise > 0 && quant_noise <= 1))
        throw Error("Quant-Noise share " + std::to_string(quant_noise) + " is outside (0, 1]");
    if (steps < 1 || micro_batch < 1 || seq_len < 2 || warmup_steps < 0)
        throw Error("quantization-aware training needs steps >= 1, micro-batch >= 1, window length >= 2, warm-up >= 0");
    if (!(lr > 0) || !(weight_decay >= 0))
        throw Error("learning rate must be positive and weight decay not negative");
    if (!(kd_weight >= 0 && kd_weight <= 1) || !(temperature > 0))
        throw Error("distillation weight must lie in [0, 1] and the temperature be positive");
}

namespace {
// W as the forward pass sees it: quantized (all or a random share of its blocks),
// with the quantization error detached so the gradient reaches W unchanged.
at::Tensor fakeQuantSte(const at::Tensor& w, const QuantScheme& s, double share, at::Generator& gen)
{
    const at::Tensor q = fakeQuantize(w.detach(), s);
    at::Tensor delta = q - w.detach();
    if (share < 1.0) {
        const int64_t rows = w.size(0), cols = w.size(1), block = std::max<int64_t>(1, std::min(cols, s.blockSize(cols)));
        const int64_t blocks = (cols + block - 1) / block;
        const at::Tensor mask = at::bernoulli(at::full({rows, blocks}, share, at::kFloat), gen)
                                    .repeat_interleave(block, 1)
                                    .narrow(1, 0, cols);
        delta = delta * mask;
    }
    return w + delta;
}
} // namespace

QatResult quantAwareTrain(const Model& model, const TokenWindows& train, const QatOptions& opt, const ProgressFn& progress,
                          const std::function<void(const QatStep&)>& onStep)
{
    opt.validate();
    requireDense(model.config(), "quantization-aware training");
    if (train.count < 1 || train.seq_len != opt.seq_len)
        throw Error("training text: no window of " + std::to_string(opt.seq_len) + " tokens");
    setComputeThreads(0);
    const auto t0 = std::chrono::steady_clock::now();
    const ModelConfig& c = model.config();
    const std::vector<std::string> names = linearLayers(model, opt.layers_regex);
    for (const auto& n : names)
        opt.scheme.checkShape(n, model.raw(n).size(1));
    const std::set<std::string> chosen(names.begin(), names.end());

    // fp32 master weights of the chosen layers, trained; everything else frozen
    std::map<std::string, at::Tensor> master;
    std::vector<at::Tensor> params;
    QatResult res;
    for (const auto& n : names) {
        master[n] = model.raw(n).to(at::kFloat).clone().requires_grad_(true);
        params.push_back(master[n]);
        res.trainable_parameters += master[n].numel();
    }
    train::AdamW optimizer(params, opt.weight_decay);
    train::WindowSampler sampler(train, opt.seed);
    at::Generator gen = at::detail::createCPUGenerator(opt.seed + 7);
    const RopeTable rope = makeRope(c, opt.seq_len);
    const auto effective = [&](int block, TensorRole role, const at::Tensor& frozen) {
        const std::string n = hfTensorName(role, block);
        return chosen.count(n) ? fakeQuantSte(master[n], opt.scheme, opt.quant_noise, gen) : frozen;
    };

    for (int64_t step = 1; step <= opt.steps; ++step) {
        const double lr = train::cosineLearningRate(opt.lr, opt.warmup_steps, step, opt.steps);
        const at::Tensor ids = sampler.next(opt.micro_batch);
        at::Tensor h = model.embed(ids);
        for (int i = 0; i < model.nBlocks(); ++i) {
            BlockWeights w = model.block(i);
            for (TensorRole role : linearRoles())
                *w.slot(role) = effective(i, role, *w.slot(role));
            h = blockForward(w, c, h, rope);
        }
        const at::Tensor logits = headLogits(model, h);
        const at::Tensor ce = meanNllDifferentiable(logits, ids);
        at::Tensor loss = ce, kd;
        if (opt.kd_weight > 0) {
            kd = train::distillationLoss(model, ids, rope, logits, opt.temperature); // the model before training
            loss = ce * (1 - opt.kd_weight) + kd * opt.kd_weight;
        }
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw Error("quantization-aware training diverged at step " + std::to_string(step) + " (loss not finite); lower the learning rate");
        loss.backward();
        const double norm = optimizer.gradNorm();
        optimizer.step(lr, norm > opt.max_grad_norm ? opt.max_grad_norm / norm : 1.0);
        const QatStep rec{step, value, ce.item<double>(), kd.defined() ? kd.item<double>() : 0.0, lr};
        res.curve.push_back(rec);
        res.steps_done = step;
        if (onStep)
            onStep(rec);
        if (progress && !progress(Progress{double(step) / double(opt.steps), "QAT step " + std::to_string(step) + ", loss " +
                                                                                 std::to_string(value)})) {
            res.cancelled = step < opt.steps;
            break;
        }
    }

    at::NoGradGuard ng;
    res.trained = model.derive();
    res.quantized = model.derive();
    for (const auto& [n, w] : master) {
        const at::Tensor fp = w.detach().clone();
        res.trained->replace(n, fp);
        res.quantized->replace(n, fakeQuantize(fp, opt.scheme));
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

} // namespace tailor
