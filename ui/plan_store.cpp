#include "plan_store.h"

#include <algorithm>
#include <set>

namespace tailor::ui {

namespace {

bool sameQuant(const std::optional<PlanQuant>& a, const std::optional<PlanQuant>& b)
{
    if (a.has_value() != b.has_value())
        return false;
    if (!a)
        return true;
    if (a->scheme != b->scheme || a->method != b->method || a->act_order != b->act_order || a->layers != b->layers || a->imatrix != b->imatrix ||
        a->rules.size() != b->rules.size())
        return false;
    for (std::size_t i = 0; i < a->rules.size(); ++i)
        if (a->rules[i].layers != b->rules[i].layers || a->rules[i].scheme != b->rules[i].scheme)
            return false;
    return true;
}

bool sameWidth(const std::optional<WidthPlan>& a, const std::optional<WidthPlan>& b)
{
    return a.has_value() == b.has_value() && (!a || (a->groups == b->groups && a->channels == b->channels));
}

} // namespace

PlanStore::PlanStore(QObject* parent) : QObject(parent) {}

QString PlanStore::quantLabel() const
{
    if (!plan_.quant)
        return noQuantLabel();
    if (plan_.quant->rules.empty())
        return QString::fromStdString(plan_.quant->scheme.name());
    return mixedPrefix() + (mixedLabel_.isEmpty() ? tr("%1 rules").arg(plan_.quant->rules.size()) : mixedLabel_);
}

void PlanStore::setDropBlocks(std::vector<int> blocks)
{
    const std::set<int> unique(blocks.begin(), blocks.end());
    blocks.assign(unique.begin(), unique.end());
    if (blocks == plan_.drop_blocks)
        return;
    plan_.drop_blocks = std::move(blocks);
    Q_EMIT changed(Blocks);
}

void PlanStore::setRanks(const std::map<std::string, int64_t>& ranks)
{
    if (ranks == plan_.ranks)
        return;
    plan_.ranks = ranks;
    Q_EMIT changed(Ranks);
}

void PlanStore::setQuant(const std::optional<PlanQuant>& q, const QString& label)
{
    const QString newLabel = q && !q->rules.empty() ? label : QString();
    if (sameQuant(q, plan_.quant) && newLabel == mixedLabel_)
        return;
    plan_.quant = q;
    mixedLabel_ = newLabel;
    Q_EMIT changed(Quant);
}

void PlanStore::setWidth(const std::optional<WidthPlan>& w, const std::string& criterion)
{
    if (sameWidth(w, plan_.width) && (!w || criterion == plan_.width_criterion))
        return;
    plan_.width = w;
    plan_.width_criterion = w ? criterion : std::string();
    Q_EMIT changed(Width);
}

void PlanStore::setPlan(const CompressionPlan& p, const QString& quantLabel)
{
    std::vector<int> blocks = p.drop_blocks;
    const std::set<int> unique(blocks.begin(), blocks.end());
    plan_ = p;
    plan_.drop_blocks.assign(unique.begin(), unique.end());
    mixedLabel_ = p.quant && !p.quant->rules.empty() ? quantLabel : QString();
    Q_EMIT changed(All);
}

void PlanStore::reset(const std::string& modelDir)
{
    plan_ = CompressionPlan{};
    plan_.model = modelDir;
    mixedLabel_.clear();
    Q_EMIT changed(All);
}

} // namespace tailor::ui
