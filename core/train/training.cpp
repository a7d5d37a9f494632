#include "training.h"

#include <ATen/core/grad_mode.h>
#include <algorithm>
#include <cmath>

namespace tailor::train {

AdamW::AdamW(std::vector<at::Tensor> params, double weightDecay) : params_(std::move(params)), weightDecay_(weightDecay)
{
    for (const auto& p : params_) {
        m_.push_back(at::zeros_like(p.detach()));
        v_.push_back(at::zeros_like(p.detach()));
    }
}

double AdamW::gradNorm() const
{
    double sq = 0;
    for (const auto& p : params_)
        if (p.grad().defined())
            sq += p.grad().pow(2).sum().item<double>();
    return std::sqrt(sq);
}

void AdamW::step(double lr, double gradScale)
{
    constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    at::NoGradGuard ng;
    ++t_;
    const double c1 = 1 - std::pow(b1, double(t_)), c2 = 1 - std::pow(b2, double(t_));
    for (std::size_t i = 0; i < params_.size(); ++i) {
        at::Tensor p = params_[i].detach();
        const at::Tensor g = params_[i].grad();
        if (!g.defined())
            continue;
        if (weightDecay_ > 0)
            p.mul_(1 - lr * weightDecay_);
        m_[i].mul_(b1).add_(g, (1 - b1) * gradScale);
        v_[i].mul_(b2).addcmul_(g, g, (1 - b2) * gradScale * gradScale);
        p.addcdiv_(m_[i], (v_[i] / c2).sqrt_().add_(eps), -lr / c1);
        params_[i].mutable_grad().zero_();
    }
}

double cosineLearningRate(double lr, int64_t warmup, int64_t step, int64_t total)
{
    if (step <= warmup)
        return lr * double(step) / double(std::max<int64_t>(1, warmup));
    const double progress = double(step - warmup) / double(std::max<int64_t>(1, total - warmup));
    return lr * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress)));
}

at::Tensor distillationLoss(const Model& teacher, const at::Tensor& ids, const RopeTable& rope, const at::Tensor& studentLogits,
                            double temperature)
{
    at::Tensor teacherLogits;
    {
        at::NoGradGuard ng;
        teacherLogits = headLogits(teacher, runBlocks(teacher, teacher.embed(ids), 0, teacher.nBlocks(), rope));
    }
    const int64_t T = ids.size(1);
    const at::Tensor lt = at::log_softmax(teacherLogits.narrow(1, 0, T - 1) / temperature, -1);
    const at::Tensor ls = at::log_softmax(studentLogits.narrow(1, 0, T - 1) / temperature, -1);
    return (lt.exp() * (lt - ls)).sum(-1).mean() * (temperature * temperature);
}

WindowSampler::WindowSampler(const TokenWindows& w, uint64_t seed)
    : windows_(w), rng_(seed), order_(std::size_t(w.count)), cursor_(order_.size())
{
    all_ = at::from_blob(const_cast<int64_t*>(w.ids.data()), {w.count, w.seq_len}, at::kLong);
}

at::Tensor WindowSampler::next(int64_t n)
{
    std::vector<int64_t> rows;
    while (int64_t(rows.size()) < n) {
        if (cursor_ == order_.size()) {
            for (std::size_t j = 0; j < order_.size(); ++j)
                order_[j] = int64_t(j);
            std::shuffle(order_.begin(), order_.end(), rng_);
            cursor_ = 0;
        }
        rows.push_back(order_[cursor_++]);
    }
    return all_.index_select(0, at::tensor(rows, at::kLong));
}

} // namespace tailor::train
