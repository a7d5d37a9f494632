#include "plan_store.h"
#include "resource_paths.h"

#include <QJsonArray>

#include <set>

namespace tailor::ui {

namespace {

// The JSON keys each part writes (CompressionPlan::toJson).
const std::vector<std::pair<PlanStore::Part, std::vector<const char*>>>& partKeys()
{
    static const std::vector<std::pair<PlanStore::Part, std::vector<const char*>>> keys = {
        {PlanStore::Model, {"model"}},   {PlanStore::Blocks, {"drop_blocks"}},
        {PlanStore::Ranks, {"ranks"}},   {PlanStore::Quant, {"quant"}},
        {PlanStore::Width, {"width"}},   {PlanStore::Texts, {"calib", "eval", "task"}},
        {PlanStore::Heal, {"heal"}},     {PlanStore::Whiten, {"whiten"}},
        {PlanStore::Experts, {"experts"}},
    };
    return keys;
}

QJsonObject partsJson(const CompressionPlan& p, PlanStore::Parts parts)
{
    const QJsonObject all = p.toJson();
    QJsonObject o;
    for (const auto& [part, keys] : partKeys())
        if (parts & part)
            for (const char* k : keys)
                if (all.contains(QLatin1String(k)))
                    o[QLatin1String(k)] = all[QLatin1String(k)];
    return o;
}

} // namespace

PlanStore::PlanStore(QObject* parent) : QObject(parent)
{
    plan_.calib = demoCalibText().toStdString();
    plan_.eval_text = demoEvalText().toStdString();
    plan_.whiten = true; // the workbench factorizes with whitened SVD unless the user unticks it
}

void PlanStore::edit(Parts parts, const std::function<void(CompressionPlan&)>& f, bool force)
{
    const QJsonObject before = partsJson(plan_, parts);
    f(plan_);
    if (force || partsJson(plan_, parts) != before)
        Q_EMIT changed(parts);
}

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
    edit(Blocks, [&](CompressionPlan& p) { p.drop_blocks.assign(unique.begin(), unique.end()); });
}

void PlanStore::setRanks(const std::map<std::string, int64_t>& ranks)
{
    edit(Ranks, [&](CompressionPlan& p) { p.ranks = ranks; });
}

void PlanStore::setQuant(const std::optional<PlanQuant>& q, const QString& label)
{
    const QString newLabel = q && !q->rules.empty() ? label : QString();
    const bool relabel = newLabel != mixedLabel_;
    mixedLabel_ = newLabel;
    edit(Quant, [&](CompressionPlan& p) { p.quant = q; }, relabel);
}

void PlanStore::setWidth(const std::optional<WidthPlan>& w, const std::string& criterion)
{
    edit(Width, [&](CompressionPlan& p) {
        p.width = w;
        p.width_criterion = w ? criterion : std::string();
    });
}

void PlanStore::setExperts(const std::optional<PlanExperts>& x) { edit(Experts, [&](CompressionPlan& p) { p.experts = x; }); }

void PlanStore::setCalib(const std::string& path) { edit(Texts, [&](CompressionPlan& p) { p.calib = path; }); }
void PlanStore::setEvalText(const std::string& path) { edit(Texts, [&](CompressionPlan& p) { p.eval_text = path; }); }
void PlanStore::setTask(const std::string& path) { edit(Texts, [&](CompressionPlan& p) { p.task = path; }); }
void PlanStore::setWhiten(bool whiten) { edit(Whiten, [&](CompressionPlan& p) { p.whiten = whiten; }); }
void PlanStore::setHeal(const std::optional<PlanHeal>& heal) { edit(Heal, [&](CompressionPlan& p) { p.heal = heal; }); }

void PlanStore::setPlan(const CompressionPlan& in, const QString& quantLabel)
{
    CompressionPlan p = in;
    const std::set<int> unique(p.drop_blocks.begin(), p.drop_blocks.end());
    p.drop_blocks.assign(unique.begin(), unique.end());
    if (p.calib.empty())
        p.calib = plan_.calib;
    if (p.eval_text.empty())
        p.eval_text = plan_.eval_text;
    mixedLabel_ = p.quant && !p.quant->rules.empty() ? quantLabel : QString();
    edit(all(), [&](CompressionPlan& cur) { cur = p; }, true);
}

void PlanStore::reset(const std::string& modelDir)
{
    CompressionPlan p;
    p.model = modelDir;
    p.calib = plan_.calib;
    p.eval_text = plan_.eval_text;
    p.task = plan_.task;
    p.whiten = plan_.whiten;
    p.heal = plan_.heal;
    mixedLabel_.clear();
    edit(all(), [&](CompressionPlan& cur) { cur = p; }, true);
}

} // namespace tailor::ui
