#include "block_importance_model.h"

#include <QBrush>
#include <QColor>
#include <cmath>

namespace tailor::ui {

BlockImportanceModel::BlockImportanceModel(QObject* parent) : QAbstractTableModel(parent) {}

void BlockImportanceModel::setResult(const BlockScanResult& r)
{
    const bool sameShape = r.blocks.size() == result_.blocks.size();
    if (!sameShape)
        beginResetModel();
    result_ = r;
    if (!sameShape) {
        marked_.clear();
        endResetModel();
    } else if (rowCount() > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    }
}

void BlockImportanceModel::setMarked(const std::set<int>& marked)
{
    marked_ = marked;
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, Drop), index(rowCount() - 1, Drop), {Qt::CheckStateRole});
    Q_EMIT markedChanged(marked_);
}

int BlockImportanceModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(result_.blocks.size());
}

int BlockImportanceModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

int BlockImportanceModel::rankOf(int block, Criterion c) const
{
    const double v = scoreOf(result_.blocks[std::size_t(block)], c);
    if (std::isnan(v) || result_.blocks[std::size_t(block)].excluded)
        return 0;
    int rank = 1;
    for (const auto& b : result_.blocks)
        if (!b.excluded && !std::isnan(scoreOf(b, c)) && scoreOf(b, c) < v)
            ++rank;
    return rank;
}

QVariant BlockImportanceModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const BlockScore& b = result_.blocks[std::size_t(index.row())];
    auto number = [&](double v, int decimals) -> QVariant {
        if (role == Qt::DisplayRole)
            return std::isnan(v) ? QVariant(QStringLiteral("—")) : QVariant(QString::number(v, 'f', decimals));
        return std::isnan(v) ? QVariant() : QVariant(v); // sort role
    };
    auto rank = [&](Criterion c) -> QVariant {
        const int r = rankOf(b.index, c);
        return r == 0 ? (role == Qt::DisplayRole ? QVariant(QStringLiteral("—")) : QVariant(1 << 20)) : QVariant(r);
    };
    switch (role) {
    case Qt::DisplayRole:
    case Qt::UserRole:
        switch (index.column()) {
        case Block: return b.index;
        case Ppl: return number(b.ppl, 4);
        case PplRank: return rank(Criterion::Ppl);
        case Taylor: return number(b.taylor, 4);
        case TaylorRank: return rank(Criterion::Taylor);
        case Bi: return number(b.bi, 5);
        case BiRank: return rank(Criterion::Bi);
        case Excluded: return b.excluded ? tr("kept (+)") : QString();
        default: return {};
        }
    case Qt::CheckStateRole:
        if (index.column() == Drop)
            return marked_.count(b.index) ? Qt::Checked : Qt::Unchecked;
        return {};
    case Qt::ForegroundRole:
        return b.excluded ? QBrush(QColor(150, 150, 150)) : QVariant();
    case Qt::BackgroundRole:
        return marked_.count(b.index) ? QBrush(QColor(250, 220, 215)) : QVariant();
    case Qt::ToolTipRole:
        return b.excluded ? tr("Excluded from the candidates by the \"+\" heuristic") : QVariant();
    case Qt::TextAlignmentRole:
        return index.column() == Excluded ? QVariant() : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    default:
        return {};
    }
}

QVariant BlockImportanceModel::headerData(int section, Qt::Orientation o, int role) const
{
    if (o != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Drop: return tr("Drop");
    case Block: return tr("Block");
    case Ppl: return tr("PPL without");
    case PplRank: return tr("rank");
    case Taylor: return tr("Taylor");
    case TaylorRank: return tr("rank");
    case Bi: return tr("BI");
    case BiRank: return tr("rank");
    case Excluded: return tr("+ heuristic");
    default: return {};
    }
}

Qt::ItemFlags BlockImportanceModel::flags(const QModelIndex& index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (index.column() == Drop)
        f |= Qt::ItemIsUserCheckable;
    return f;
}

bool BlockImportanceModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!index.isValid() || index.column() != Drop || role != Qt::CheckStateRole)
        return false;
    const int block = result_.blocks[std::size_t(index.row())].index;
    std::set<int> m = marked_;
    if (value.toInt() == Qt::Checked)
        m.insert(block);
    else
        m.erase(block);
    setMarked(m);
    return true;
}

} // namespace tailor::ui
