#include "ranks_model.h"
#include "ui/plan_store.h"

#include <QBrush>

#include <algorithm>

namespace tailor::ui {

namespace {
QString percent(double share) { return QString::number(100 * share, 'f', 2) + " %"; }
} // namespace

RanksModel::RanksModel(PlanStore* store, QObject* parent) : QAbstractTableModel(parent), store_(store)
{
    connect(store_, &PlanStore::changed, this, [this](PlanStore::Parts parts) {
        if ((parts & PlanStore::Ranks) && rowCount() > 0)
            Q_EMIT dataChanged(index(0, Rank), index(rowCount() - 1, Saved));
    });
}

void RanksModel::setSpectra(const std::vector<LayerSpectrum>* spectra)
{
    beginResetModel();
    spectra_ = spectra;
    endResetModel();
}

const std::map<std::string, int64_t>& RanksModel::ranks() const { return store_->plan().ranks; }

int64_t RanksModel::rankOf(int row) const
{
    const LayerSpectrum& s = (*spectra_)[std::size_t(row)];
    const auto it = ranks().find(s.name);
    return it == ranks().end() ? std::min(s.rows, s.cols) : it->second;
}

int64_t RanksModel::parametersAt(int row) const
{
    const LayerSpectrum& s = (*spectra_)[std::size_t(row)];
    const int64_t k = rankOf(row);
    return k < std::min(s.rows, s.cols) ? k * (s.rows + s.cols) : s.rows * s.cols;
}

int RanksModel::rowOf(const std::string& layer) const
{
    for (int r = 0; r < rowCount(); ++r)
        if ((*spectra_)[std::size_t(r)].name == layer)
            return r;
    return -1;
}

int RanksModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() || !spectra_ ? 0 : int(spectra_->size());
}

int RanksModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RanksModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const LayerSpectrum& s = (*spectra_)[std::size_t(index.row())];
    const int64_t full = std::min(s.rows, s.cols), k = rankOf(index.row());
    const bool factorized = k < full;
    const int64_t mn = s.rows * s.cols, kept = parametersAt(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case Qt::EditRole:
        switch (index.column()) {
        case Layer:
            return QString::fromStdString(s.name).remove("model.").remove(".weight");
        case Shape:
            return QStringLiteral("%1 × %2").arg(s.rows).arg(s.cols);
        case Rank:
            return factorized ? QString::number(k) : QString();
        case Energy:
            return factorized ? percent(s.energyAt(k)) : QString();
        case Saved:
            return factorized ? percent(double(mn - kept) / double(mn)) : QString();
        default:
            return {};
        }
    case Qt::ToolTipRole:
        return index.column() == Layer ? QString::fromStdString(s.name) : QVariant();
    case Qt::TextAlignmentRole:
        return index.column() >= Rank ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    case Qt::ForegroundRole:
        // a rank above break-even stores more than the dense matrix
        return index.column() == Saved && kept > mn ? QBrush(Qt::red) : QVariant();
    default:
        return {};
    }
}

QVariant RanksModel::headerData(int section, Qt::Orientation o, int role) const
{
    if (o != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* const names[] = {"layer", "shape", "rank", "energy", "params saved"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

Qt::ItemFlags RanksModel::flags(const QModelIndex& index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (index.column() == Rank)
        f |= Qt::ItemIsEditable;
    return f;
}

bool RanksModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!index.isValid() || index.column() != Rank || role != Qt::EditRole || index.row() >= rowCount())
        return false;
    const LayerSpectrum& s = (*spectra_)[std::size_t(index.row())];
    const int64_t full = std::min(s.rows, s.cols);
    const QString text = value.toString().trimmed();
    bool ok = true;
    const int64_t k = text.isEmpty() ? full : text.toLongLong(&ok);
    if (!ok || k < 1 || k > full) {
        Q_EMIT refused(tr("Rank '%1' for %2 refused: it must be an integer from 1 to %3 (empty = full rank).")
                           .arg(text, QString::fromStdString(s.name))
                           .arg(full));
        return false;
    }
    auto ranks = this->ranks();
    if (k == full)
        ranks.erase(s.name);
    else
        ranks[s.name] = k;
    store_->setRanks(ranks); // the store's change refreshes this model's rows
    return true;
}

} // namespace tailor::ui
