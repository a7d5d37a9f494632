#pragma once
// Table of block scores: a Drop check box per block, each criterion of
// blockCriteria() as a score column and its rank among the candidates
// (1 = least important), and whether the "+" heuristic excludes the block.
// Excluded rows are greyed. The Drop marks are the PlanStore's blocks to
// drop (this model holds no copy): toggling one writes the store, and blocks
// typed on the Compress page or loaded from a plan show here.
#include "core/analysis/block_importance.h"

#include <QAbstractTableModel>
#include <set>

namespace tailor::ui {

class PlanStore;

class BlockImportanceModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // Fixed columns; the criteria follow Block, two columns each (score, rank).
    enum Column { Drop, Block, FirstCriterion };
    static int scoreColumn(Criterion c);
    static int excludedColumn();

    explicit BlockImportanceModel(PlanStore* store, QObject* parent = nullptr);
    void setResult(const BlockScanResult& r);
    void setMarked(const std::set<int>& marked); // writes the store
    std::set<int> marked() const;                // the store's blocks to drop
    const BlockScanResult& result() const { return result_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation o, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;

Q_SIGNALS:
    void markedChanged(const std::set<int>& marked);

private:
    int rankOf(int block, Criterion c) const;
    bool isMarked(int block) const;
    PlanStore* store_;
    BlockScanResult result_;
};

} // namespace tailor::ui
