#include "quant_rules_model.h"
#include "ui/plan_store.h"

#include "core/quant/quant_scheme.h"
#include "core/util/name_pattern.h"

#include <QRegularExpression>

namespace tailor::ui {

QuantRulesModel::QuantRulesModel(PlanStore* store, QObject* parent) : QAbstractTableModel(parent), store_(store)
{
    rows_ = rowCount();
    // The store changes as a whole (a budget's pick, a loaded plan, an edit
    // here): the rows are re-read, counted again when their number changed.
    connect(store_, &PlanStore::changed, this, [this](PlanStore::Parts parts) {
        if (!(parts & PlanStore::Quant))
            return;
        const int now = int(store_->plan().quant ? store_->plan().quant->rules.size() : 0);
        if (now != rows_) {
            beginResetModel();
            rows_ = now;
            endResetModel();
        } else if (rows_ > 0) {
            Q_EMIT dataChanged(index(0, 0), index(rows_ - 1, ColumnCount - 1));
        }
    });
}

int QuantRulesModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid())
        return 0;
    const auto& q = store_->plan().quant;
    return q ? int(q->rules.size()) : 0;
}

int QuantRulesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant QuantRulesModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || (role != Qt::DisplayRole && role != Qt::EditRole && role != Qt::ToolTipRole))
        return {};
    const PlanQuantRule& r = store_->plan().quant->rules[std::size_t(index.row())];
    if (index.column() == Scheme)
        return role == Qt::ToolTipRole ? QVariant() : QVariant(QString::fromStdString(r.scheme.name()));
    const QString pattern = QString::fromStdString(r.layers);
    if (role != Qt::DisplayRole)
        return pattern; // edited and hovered as written
    // shown as the Low rank table names layers: a budget's anchored one-tensor
    // rule "^model\.layers\.3\.mlp\.up_proj\.weight$" as "layers.3.mlp.up_proj"
    static const QRegularExpression literal(QStringLiteral(R"(^\^model\\\.((?:[A-Za-z0-9_]|\\\.)+)\\\.weight\$$)"));
    const QRegularExpressionMatch m = literal.match(pattern);
    return m.hasMatch() ? m.captured(1).replace(QStringLiteral("\\."), QStringLiteral(".")) : pattern;
}

QVariant QuantRulesModel::headerData(int section, Qt::Orientation o, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    if (o == Qt::Vertical)
        return section + 1; // the order the rules are tried in
    return section == Layers ? tr("layers (regex)") : section == Scheme ? tr("scheme") : QVariant();
}

Qt::ItemFlags QuantRulesModel::flags(const QModelIndex& index) const
{
    return index.isValid() ? Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsEditable : Qt::NoItemFlags;
}

bool QuantRulesModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!index.isValid() || role != Qt::EditRole || index.row() >= rowCount())
        return false;
    PlanQuant q = *store_->plan().quant;
    PlanQuantRule& r = q.rules[std::size_t(index.row())];
    const std::string text = value.toString().trimmed().toStdString();
    const QString where = tr("rule %1").arg(index.row() + 1);
    if (index.column() == Layers) {
        if (const std::string why = patternError(text); !why.empty()) {
            Q_EMIT refused(tr("%1: layers %2").arg(where, QString::fromStdString(why)));
            return false;
        }
        r.layers = text;
    } else {
        try {
            r.scheme = QuantScheme::parse(text);
        } catch (const std::exception& e) {
            Q_EMIT refused(tr("%1: scheme %2").arg(where, QString::fromUtf8(e.what())));
            return false;
        }
    }
    store_->setQuant(q, store_->quantLabel().mid(PlanStore::mixedPrefix().size()));
    return true;
}

bool QuantRulesModel::removeRows(int row, int count, const QModelIndex& parent)
{
    if (parent.isValid() || row < 0 || count <= 0 || row + count > rowCount())
        return false;
    PlanQuant q = *store_->plan().quant;
    q.rules.erase(q.rules.begin() + row, q.rules.begin() + row + count);
    if (q.rules.empty())
        store_->setQuant(std::nullopt);
    else
        store_->setQuant(q, tr("%1 rules, edited").arg(q.rules.size()));
    return true;
}

} // namespace tailor::ui
