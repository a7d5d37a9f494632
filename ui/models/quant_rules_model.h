#pragma once
// The plan's per-layer quantization rules as a table (layers regex, scheme),
// in the order they are tried: the first rule whose pattern a layer's name
// contains decides its scheme. The rules are the PlanStore's (this model
// holds none). An edit is checked in setData as the plan reader checks a
// file (a pattern that compiles, a scheme QuantScheme::parse knows) and, if
// accepted, written to the store; a refused edit changes nothing and says why
// through `refused`. Removing rows removes rules; a plan whose last rule is
// removed quantizes nothing.
#include <QAbstractTableModel>

namespace tailor::ui {

class PlanStore;

class QuantRulesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layers, Scheme, ColumnCount };

    explicit QuantRulesModel(PlanStore* store, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation o, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    bool removeRows(int row, int count, const QModelIndex& parent = {}) override;

Q_SIGNALS:
    void refused(const QString& why);

private:
    PlanStore* store_;
    int rows_ = 0; // the row count the views were last told
};

} // namespace tailor::ui
