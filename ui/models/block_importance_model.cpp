#include "block_importance_model.h"
#include "ui/plan_store.h"

#include <QBrush>
#include <QColor>
#include <algorithm>
#include <cmath>

namespace tailor::ui {

BlockImportanceModel::BlockImportanceModel(PlanStore* store, QObject* parent) : QAbstractTableModel(parent), store_(store)
{
    connect(store_, &PlanStore::changed, this, [this](PlanStore::Parts parts) {
        if (!(parts & PlanStore::Blocks))
            return;
        if (rowCount() > 0) // the check boxes and the marked rows' colour
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, excludedColumn()));
        Q_EMIT markedChanged(marked());
    });
}

int BlockImportanceModel::scoreColumn(Criterion c)
{
    const auto& rows = blockCriteria();
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].id == c)
            return FirstCriterion + 2 * int(i);
    return -1;
}

int BlockImportanceModel::excludedColumn() { return FirstCriterion + 2 * int(blockCriteria().size()); }

namespace {
// The criterion a column shows (score or rank), or null for the fixed columns.
const CriterionRow* criterionAt(int column, bool* isRank)
{
    const int k = column - BlockImportanceModel::FirstCriterion;
    if (k < 0 || k >= 2 * int(blockCriteria().size()))
        return nullptr;
    *isRank = k % 2 == 1;
    return &blockCriteria()[std::size_t(k / 2)];
}
} // namespace

void BlockImportanceModel::setResult(const BlockScanResult& r)
{
    const bool sameShape = r.blocks.size() == result_.blocks.size();
    if (!sameShape)
        beginResetModel();
    result_ = r;
    if (!sameShape)
        endResetModel();
    else if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, excludedColumn()));
}

std::set<int> BlockImportanceModel::marked() const
{
    const auto& drop = store_->plan().drop_blocks;
    return {drop.begin(), drop.end()};
}

void BlockImportanceModel::setMarked(const std::set<int>& marked) { store_->setDropBlocks({marked.begin(), marked.end()}); }

int BlockImportanceModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(result_.blocks.size());
}

int BlockImportanceModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : excludedColumn() + 1; }

int BlockImportanceModel::rankOf(int block, Criterion c) const
{
    const double v = scoreOf(result_.blocks[std::size_t(block)], c);
    if (std::isnan(v) || result_.blocks[std::size_t(block)].excluded)
        return 0;
    // 1 = the first to drop: the lowest score when a higher one is more important.
    const bool higherKept = criterionRow(c).higher_is_important;
    int rank = 1;
    for (const auto& b : result_.blocks)
        if (!b.excluded && !std::isnan(scoreOf(b, c)) && (higherKept ? scoreOf(b, c) < v : scoreOf(b, c) > v))
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
        if (index.column() == Block)
            return b.index;
        if (index.column() == excludedColumn())
            return b.excluded ? tr("kept (+)") : QString();
        if (bool isRank = false; const CriterionRow* c = criterionAt(index.column(), &isRank))
            return isRank ? rank(c->id) : number(b.*c->score, c->decimals);
        return {};
    case Qt::CheckStateRole:
        if (index.column() == Drop)
            return isMarked(b.index) ? Qt::Checked : Qt::Unchecked;
        return {};
    case Qt::ForegroundRole:
        return b.excluded ? QBrush(QColor(150, 150, 150)) : QVariant();
    case Qt::BackgroundRole:
        return isMarked(b.index) ? QBrush(QColor(250, 220, 215)) : QVariant();
    case Qt::ToolTipRole:
        return b.excluded ? tr("Excluded from the candidates by the \"+\" heuristic") : QVariant();
    case Qt::TextAlignmentRole:
        return index.column() == excludedColumn() ? QVariant() : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    default:
        return {};
    }
}

QVariant BlockImportanceModel::headerData(int section, Qt::Orientation o, int role) const
{
    if (o != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    if (section == Drop)
        return tr("Drop");
    if (section == Block)
        return tr("Block");
    if (section == excludedColumn())
        return tr("+ heuristic");
    if (bool isRank = false; const CriterionRow* c = criterionAt(section, &isRank))
        return isRank ? tr("rank") : c->is_perplexity ? tr("%1 without").arg(QString::fromUtf8(c->label)) : QString::fromUtf8(c->label);
    return {};
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

bool BlockImportanceModel::isMarked(int block) const
{
    const auto& drop = store_->plan().drop_blocks; // sorted (the store keeps it so)
    return std::binary_search(drop.begin(), drop.end(), block);
}

// A check box toggled: the block joins or leaves the store's blocks to drop.
// Anything but a check state for the Drop column is refused.
bool BlockImportanceModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() != Drop || role != Qt::CheckStateRole)
        return false;
    bool ok = false;
    const int state = value.toInt(&ok);
    if (!ok || (state != Qt::Checked && state != Qt::Unchecked))
        return false;
    const int block = result_.blocks[std::size_t(index.row())].index;
    std::set<int> m = marked();
    if (state == Qt::Checked)
        m.insert(block);
    else
        m.erase(block);
    setMarked(m);
    return true;
}

} // namespace tailor::ui
