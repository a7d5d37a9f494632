#pragma once
// The user's compression choices, held once: the blocks to drop (marked in
// Blocks or typed on the Compress page), the low-rank ranks (Low rank), the
// quantization (the Quantization view's "Use in plan", a size budget's pick,
// or the Compress page's scheme box), the widths (the Width view's "Use in
// plan") and a loaded plan file. Views edit it and observe `changed`; the
// Compress page runs, predicts and saves exactly this plan (plus the healing
// and evaluation settings only it edits). Setters that change nothing emit
// nothing, so two views that mirror each other do not loop.
#include "core/compress/compression_plan.h"

#include <QObject>
#include <QString>

namespace tailor::ui {

class PlanStore : public QObject {
    Q_OBJECT
public:
    enum Part { Blocks = 1, Ranks = 2, Quant = 4, Width = 8, Other = 16, All = 31 };

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
    // A whole plan (a plan file): every part, healing and calibration included.
    void setPlan(const CompressionPlan& p, const QString& quantLabel = {});
    // A new model: the choices made for the old one no longer apply.
    void reset(const std::string& modelDir);

Q_SIGNALS:
    void changed(int parts); // a combination of Part

private:
    CompressionPlan plan_;
    QString mixedLabel_;
};

} // namespace tailor::ui
