#include "lora_heal.h"
#include "core/util/json_reader.h"
#include "core/model/arch_table.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/model/llama_forward.h"
#include "core/model/model.h"
#include "core/train/training.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <QJsonArray>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>

namespace tailor {

namespace {
const std::map<std::string, TensorRole>& targetRoles()
{
    // LoRA targets are named by the role table's short kinds: q k v o gate up down
    static const std::map<std::string, TensorRole> roles = [] {
        std::map<std::string, TensorRole> r;
        for (TensorRole role : linearRoles())
            r[roleInfo(role).kind] = role;
        return r;
    }();
    return roles;
}

struct Adapter {
    std::string name; // the HF weight it adapts
    at::Tensor a, b;  // A [r, in] (Kaiming-uniform), B [out, r] (zeros): B·A = 0 at the start
};

} // namespace

HealOptions HealOptions::fromJson(JsonReader& r)
{
    HealOptions h;
    h.rank = r.integer("rank", h.rank);
    h.alpha = r.number("alpha", h.alpha);
    h.dropout = r.number("dropout", h.dropout);
    h.lr = r.number("lr", h.lr);
    h.weight_decay = r.number("weight_decay", h.weight_decay);
    h.warmup_steps = r.integer("warmup_steps", h.warmup_steps);
    h.steps = r.integer("steps", h.steps);
    h.epochs = r.integer("epochs", h.epochs);
    h.micro_batch = r.integer("micro_batch", h.micro_batch);
    h.grad_accum = r.integer("grad_accum", h.grad_accum);
    h.seq_len = r.integer("seq_len", h.seq_len);
    h.max_grad_norm = r.number("max_grad_norm", h.max_grad_norm);
    h.kd_weight = r.number("kd_weight", h.kd_weight);
    h.temperature = r.number("temperature", h.temperature);
    h.seed = uint64_t(r.integer("seed", int64_t(h.seed), 0));
    if (r.has("targets")) {
        h.targets.clear();
        const QJsonArray t = r.array("targets");
        for (int i = 0; i < t.size(); ++i)
            h.targets.push_back(r.stringAt(t[i], r.keyName("targets") + "[" + std::to_string(i) + "]"));
    }
    r.finish();
    try {
        h.validate();
    } catch (const Error& e) {
        r.fail(r.path(), e.what());
    }
    return h;
}

QJsonObject HealOptions::toJson() const
{
    QJsonArray t;
    for (const auto& s : targets)
        t.append(QString::fromStdString(s));
    return QJsonObject{{"rank", double(rank)},
                       {"alpha", alpha},
                       {"dropout", dropout},
                       {"targets", t},
                       {"lr", lr},
                       {"weight_decay", weight_decay},
                       {"warmup_steps", double(warmup_steps)},
                       {"steps", double(steps)},
                       {"epochs", double(epochs)},
                       {"micro_batch", double(micro_batch)},
                       {"grad_accum", double(grad_accum)},
                       {"seq_len", double(seq_len)},
                       {"max_grad_norm", max_grad_norm},
                       {"kd_weight", kd_weight},
                       {"temperature", temperature},
                       {"seed", double(seed)}};
}

void HealOptions::validate() const
{
    if (rank < 1)
        throw Error("LoRA rank " + std::to_string(rank) + " must be at least 1");
    if (!(alpha > 0))
        throw Error("LoRA alpha must be positive");
    if (!(dropout >= 0 && dropout < 1))
        throw Error("LoRA dropout " + std::to_string(dropout) + " is outside [0, 1)");
    if (!(lr > 0) || !(weight_decay >= 0))
        throw Error("learning rate must be positive and weight decay not negative");
    if (steps < 1 && epochs < 1)
        throw Error("healing needs steps >= 1 or epochs >= 1");
    if (warmup_steps < 0 || micro_batch < 1 || grad_accum < 1 || seq_len < 2)
        throw Error("warm-up >= 0, micro-batch >= 1, gradient accumulation >= 1 and window length >= 2 are required");
    if (!(kd_weight >= 0 && kd_weight <= 1))
        throw Error("distillation weight " + std::to_string(kd_weight) + " is outside [0, 1]");
    if (!(temperature > 0))
        throw Error("distillation temperature must be positive");
    if (targets.empty())
        throw Error("LoRA needs at least one target module");
    if (last_blocks < 0)
        throw Error("the number of last blocks to heal must be >= 1 (0: every block), got " + std::to_string(last_blocks));
    for (const auto& t : targets)
        if (!targetRoles().count(t))
            throw Error("unknown LoRA target '" + t + "' (q k v o gate up down)");
}

HealResult healWithLora(const Model& student, const std::vector<int>& dropBlocks, const Model* teacher,
                        const TokenWindows& train, const HealOptions& opt, const ProgressFn& progress,
                        const std::function<void(const HealStep&)>& onStep)
{
    opt.validate();
    requireDense(student.config(), "LoRA healing"); // adapters target q k v o gate up down
    if (opt.kd_weight > 0 && !teacher)
        throw Error("distillation needs the original model as teacher");
    if (train.count < 1 || train.seq_len != opt.seq_len)
        throw Error("healing text: no window of " + std::to_string(opt.seq_len) + " tokens");
    setComputeThreads(0);
    const auto t0 = std::chrono::steady_clock::now();
    const ModelConfig& c = student.config();
    const int n = student.nBlocks();
    std::vector<bool> skip(std::size_t(n), false);
    for (int b : dropBlocks)
        if (b >= 0 && b < n)
            skip[std::size_t(b)] = true;

    // adapters on the kept blocks' target layers (the last `last_blocks` of them when set)
    int firstAdapted = 0;
    if (opt.last_blocks > 0) {
        int64_t kept = 0;
        for (int i = n - 1; i >= 0; --i)
            if (!skip[std::size_t(i)] && kept < opt.last_blocks) {
                firstAdapted = i;
                ++kept;
            }
    }
    auto gen = at::detail::createCPUGenerator(opt.seed);
    std::map<std::pair<int, TensorRole>, Adapter> adapters;
    HealResult res;
    for (int i = firstAdapted; i < n; ++i) {
        if (skip[std::size_t(i)])
            continue;
        for (const auto& t : opt.targets) {
            const TensorRole role = targetRoles().at(t);
            Adapter a;
            a.name = hfTensorName(role, i);
            const at::Tensor w = student.raw(a.name);
            const int64_t out = w.size(0), in = w.size(1);
            const double bound = 1.0 / std::sqrt(double(in)); // PEFT: kaiming_uniform_(a=√5)
            a.a = at::rand({opt.rank, in}, gen, at::kFloat).mul_(2 * bound).sub_(bound).requires_grad_(true);
            a.b = at::zeros({out, opt.rank}, at::kFloat).requires_grad_(true);
            res.trainable_parameters += opt.rank * (in + out);
            adapters.emplace(std::make_pair(i, role), std::move(a));
        }
    }
    if (adapters.empty())
        throw Error("healing: every block is dropped; nothing to adapt");
    const double scale = opt.alpha / double(opt.rank);

    const int64_t perStep = opt.micro_batch * opt.grad_accum;
    const int64_t total = opt.epochs > 0 ? std::max<int64_t>(1, (opt.epochs * train.count + perStep - 1) / perStep) : opt.steps;
    const RopeTable rope = makeRope(c, opt.seq_len);
    train::WindowSampler sampler(train, opt.seed);
    std::vector<at::Tensor> params;
    for (auto& [key, a] : adapters)
        params.push_back(a.a), params.push_back(a.b);
    train::AdamW optimizer(params, opt.weight_decay);
    // dropout draws from the default generator: seed it so a run is reproducible
    {
        auto def = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(def.mutex());
        def.set_current_seed(opt.seed + 1);
    }

    for (int64_t step = 1; step <= total; ++step) {
        const double lr = train::cosineLearningRate(opt.lr, opt.warmup_steps, step, total);
        HealStep rec;
        rec.step = step;
        rec.lr = lr;
        bool finite = true;
        for (int64_t micro = 0; micro < opt.grad_accum; ++micro) {
            const at::Tensor ids = sampler.next(opt.micro_batch);
            at::Tensor h;
            {
                // blocks before the first adapted one have nothing to learn: no graph through them
                at::NoGradGuard frozen;
                h = student.embed(ids);
                for (int i = 0; i < firstAdapted; ++i)
                    if (!skip[std::size_t(i)])
                        h = blockForward(student.block(i), c, h, rope);
            }
            for (int i = firstAdapted; i < n; ++i) {
                if (skip[std::size_t(i)])
                    continue;
                const LinearAdapter adapter = [&, i](TensorRole role, const at::Tensor& x) -> at::Tensor {
                    const auto it = adapters.find({i, role});
                    if (it == adapters.end())
                        return {};
                    const at::Tensor xin = opt.dropout > 0 ? at::dropout(x, opt.dropout, true) : x;
                    return at::linear(at::linear(xin, it->second.a), it->second.b) * scale;
                };
                h = blockForward(student.block(i), c, h, rope, nullptr, nullptr, &adapter);
            }
            const at::Tensor logits = headLogits(student, h);
            const at::Tensor ce = meanNllDifferentiable(logits, ids);
            at::Tensor loss = ce;
            double kdValue = 0;
            if (opt.kd_weight > 0) {
                const at::Tensor kd = train::distillationLoss(*teacher, ids, rope, logits, opt.temperature);
                kdValue = kd.item<double>();
                loss = ce * (1 - opt.kd_weight) + kd * opt.kd_weight;
            }
            const double lossValue = loss.item<double>();
            if (!std::isfinite(lossValue)) {
                finite = false;
                break;
            }
            (loss / double(opt.grad_accum)).backward();
            rec.loss += lossValue / double(opt.grad_accum);
            rec.ce += ce.item<double>() / double(opt.grad_accum);
            rec.kd += kdValue / double(opt.grad_accum);
        }
        if (!finite) {
            res.warnings.push_back("healing stopped at step " + std::to_string(step) +
                                   ": the loss is not finite; the adapters of the last good step are kept");
            break;
        }
        const double norm = optimizer.gradNorm();
        optimizer.step(lr, norm > opt.max_grad_norm ? opt.max_grad_norm / norm : 1.0);
        res.curve.push_back(rec);
        res.steps_done = step;
        if (onStep)
            onStep(rec);
        // cancelling keeps what the finished steps learned
        if (progress && !progress(Progress{double(step) / double(total), "LoRA step " + std::to_string(step) + "/" +
                                                                            std::to_string(total) + ", loss " + std::to_string(rec.loss)})) {
            res.cancelled = step < total;
            break;
        }
    }

    at::NoGradGuard ng;
    res.model = student.derive();
    for (const auto& [key, a] : adapters) {
        const at::Tensor w = student.raw(a.name).to(at::kFloat), db = a.b.detach() * scale, da = a.a.detach();
        const auto [fb, fa] = student.factors(a.name);
        res.model->replace(a.name, w + db.mm(da));
        // a factorized layer stays factored: [B | s·B_lora] · [A ; A_lora], rank k + r
        if (fb.defined())
            res.model->setFactors(a.name, at::cat({fb, db}, 1), at::cat({fa, da}, 0));
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

} // namespace tailor
