#pragma once
// The plan's low-rank ranks as a table, one row per linear layer whose
// spectrum is known: layer, shape, rank, energy kept, parameters saved. The
// ranks are the PlanStore's (this model holds none); an edit of the rank
// column is checked in setData (an integer from 1 to full rank; empty or full
// = not factorized) and, if accepted, written to the store, whose change
// refreshes every view of it. A refused edit changes nothing and says why
// through `refused`.
#include "core/lowrank/spectrum.h"

#include <QAbstractTableModel>

#include <map>
#include <string>
#include <vector>

namespace tailor::ui {

class PlanStore;

class RanksModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layer, Shape, Rank, Energy, Saved, ColumnCount };

    explicit RanksModel(PlanStore* store, QObject* parent = nullptr);
    // The layers shown (the spectra give the full ranks and the energies).
    void setSpectra(const std::vector<LayerSpectrum>* spectra);

    const std::map<std::string, int64_t>& ranks() const; // the store's
    int64_t rankOf(int row) const;                       // full rank when not factorized
    int rowOf(const std::string& layer) const;           // -1 when not shown
    // The layer's parameters at its rank: k·(m + n) factorized, m·n otherwise.
    int64_t parametersAt(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation o, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    void refused(const QString& why);

private:
    PlanStore* store_;
    const std::vector<LayerSpectrum>* spectra_ = nullptr;
};

} // namespace tailor::ui
