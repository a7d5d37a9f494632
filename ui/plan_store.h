#pragma once
// The user's compression choices, held once: the blocks to drop (marked in
// Blocks or typed on the Compress page), the low-rank ranks (Low rank), the
// quantization (the Quantization view's "Use in plan", a size budget's pick,
// or the Compress page's scheme box), the widths (the Width view's "Use in
// plan"), the calibration and evaluation texts and task (one of each for the
// whole workbench), whitening, healing, and a loaded plan file.
//
// Thread contract: the store lives on the GUI thread; views edit it there and
// observe `changed`; jobs receive a copy of plan() when they are submitted.
// The Compress page runs, predicts and saves exactly this plan.
//
// Setters that change nothing emit nothing, so two views that mirror each
// other do not loop. "Changed" is decided on the plan's own JSON of the parts
// touched (CompressionPlan::toJson writes every choice; the bad-input campaign
// checks that), so a field added to a plan part is compared without a list
// here to forget.
#include "core/compress/compression_plan.h"

#include <QFlags>
#include <QObject>
#include <QString>

#include <functional>

namespace tailor::ui {

class PlanStore : public QObject {
    Q_OBJECT
public:
    enum Part {
        Blocks = 0x1,
        Ranks = 0x2,
        Quant = 0x4,
        Width = 0x8,
        Texts = 0x10, // calibration, evaluation, task
        Heal = 0x20,
        Whiten = 0x40,
        Model = 0x80,
        Experts = 0x100, // a mixture's kept experts (#30)
    };
    Q_DECLARE_FLAGS(Parts, Part)
    static constexpr Parts all() { return Parts(0x1ff); }

    explicit PlanStore(QObject* parent = nullptr);

    const CompressionPlan& plan() const { return plan_; }
    // How the quantization is shown: the scheme name, noQuantLabel(), or
    // mixedPrefix() + a label for per-layer rules. The Compress page's scheme
    // box shows these and reads them back.
    QString quantLabel() const;
    static QString noQuantLabel() { return QStringLiteral("none"); }
    static QString mixedPrefix() { return QStringLiteral("mixed: "); }

    void setDropBlocks(std::vector<int> blocks); // kept sorted and unique
    void setRanks(const std::map<std::string, int64_t>& ranks);
    // One scheme (q.rules empty) or per-layer rules described by `label`; nullopt = none.
    void setQuant(const std::optional<PlanQuant>& q, const QString& label = {});
    void setWidth(const std::optional<WidthPlan>& w, const std::string& criterion = {});
    void setExperts(const std::optional<PlanExperts>& x);
    void setCalib(const std::string& path);
    void setEvalText(const std::string& path);
    void setTask(const std::string& path);
    void setWhiten(bool whiten);
    void setHeal(const std::optional<PlanHeal>& heal);
    // A whole plan (a plan file): every part. Texts the file leaves out keep
    // the workbench's.
    void setPlan(const CompressionPlan& p, const QString& quantLabel = {});
    // A new model: the choices made for the old one no longer apply; the
    // texts, whitening and healing settings are the user's, not the model's, and stay.
    void reset(const std::string& modelDir);

Q_SIGNALS:
    void changed(tailor::ui::PlanStore::Parts parts);

private:
    // Applies `edit`, then emits `parts` if their JSON changed (or `force`).
    void edit(Parts parts, const std::function<void(CompressionPlan&)>& edit, bool force = false);

    CompressionPlan plan_;
    QString mixedLabel_;
};

} // namespace tailor::ui

Q_DECLARE_OPERATORS_FOR_FLAGS(tailor::ui::PlanStore::Parts)
