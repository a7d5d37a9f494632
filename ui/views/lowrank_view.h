#pragma once
// The Low-rank view (#6): the selected layer's singular values (log scale,
// other layers overlaid on request) and cumulative energy with markers at the
// chosen rank and the break-even rank; a rank slider showing retained energy
// and parameters saved; a table of every layer's rank, editable per layer or
// set for all by an energy threshold or a parameter budget; an overview of the
// ranks for 90/95/99 % energy relative to full rank; and an evaluation of the
// chosen ranks (calibration PPL, plain or whitened SVD). Spectra are computed
// in the background and cached on disk.
#include "core/lowrank/spectrum.h"

#include <QWidget>
#include <map>
#include <memory>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QTableView;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;
class PlanStore;
class PlotView;
class RanksModel;

class LowRankView : public QWidget {
    Q_OBJECT
public:
    LowRankView(JobRunner* runner, PlanStore* store, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);

    // Ranks chosen so far; layers absent keep full rank (not factorized).
    // The plan store's ranks (the view keeps no copy).
    const std::map<std::string, int64_t>& ranks() const;
    void setRanks(const std::map<std::string, int64_t>& ranks);
    // Writes {"tensor": rank} as `tailor-cli lowrank --ranks` reads it.
    void saveRanks(const QString& path) const;

    QSlider* rankSlider() const { return rank_; }
    QComboBox* layerBox() const { return layer_; }
    QLabel* figures() const { return figures_; }
    QTableView* rankTable() const { return table_; }
    RanksModel* ranksModel() const { return ranksModel_; } // the store's ranks as a table
    QDoubleSpinBox* budgetSpin() const { return budget_; }
    QDoubleSpinBox* energySpin() const { return energy_share_; }
    QPushButton* budgetButton() const { return byBudget_; }
    QPushButton* energyButton() const { return byEnergy_; }
    QPushButton* overlayButton() const { return addOverlay_; }
    QPushButton* evaluateButton() const { return evaluate_; }
    QCheckBox* whitenBox() const { return whiten_; }
    QLabel* evaluation() const { return evalResult_; }
    PlotView* spectrumPlot() const { return spectrum_; }
    const std::vector<LayerSpectrum>& spectra() const { return spectra_; }
    double lastCalibPpl() const { return lastCalibPpl_; }

Q_SIGNALS:
    void spectraReady();
    void ranksChanged();
    void evaluated();

protected:
    void showEvent(QShowEvent* e) override;

private:
    void bindStore(PlanStore* store);
    PlanStore* store_ = nullptr;
    void computeSpectra();
    bool spectraPending_ = false;
    void showLayer();
    void updateRank();
    void refreshTotals();
    void refreshOverview();
    void runEvaluation();
    int64_t rankOf(std::size_t layer) const;

    JobRunner* runner_;
    std::shared_ptr<ModelSession> session_;
    std::vector<LayerSpectrum> spectra_;
    std::vector<int> overlay_;
    QComboBox* layer_;
    QSlider* rank_;
    QLabel* figures_;
    QPushButton* addOverlay_;
    QPushButton* clearOverlay_;
    QDoubleSpinBox* energy_share_;
    QDoubleSpinBox* budget_;
    QPushButton* byEnergy_;
    QPushButton* byBudget_;
    QPushButton* resetRanks_;
    QPushButton* saveRanks_;
    QTableView* table_;
    RanksModel* ranksModel_ = nullptr; // made with the store
    QLabel* totals_;
    QLineEdit* calib_;
    QCheckBox* whiten_;
    QPushButton* evaluate_;
    QLabel* evalResult_;
    PlotView* spectrum_;
    PlotView* energy_;
    PlotView* overview_;
    int revision_ = 0;
    int evalJob_ = -1;
    bool updating_ = false;
    double lastCalibPpl_ = 0;
};

} // namespace tailor::ui
