#pragma once
// The Low-rank view (#6): the selected layer's singular values (log scale) and
// cumulative energy with markers at the chosen rank and the break-even rank, a
// rank slider showing retained energy and parameters saved, and an overview of
// the ranks needed for 90/95/99 % energy relative to full rank for every layer.
// Spectra are computed in the background.
#include "core/lowrank/spectrum.h"

#include <QWidget>
#include <memory>
#include <vector>

class QComboBox;
class QLabel;
class QSlider;

namespace tailor {
class ModelSession;
}

namespace tailor::ui {

class JobRunner;
class PlotView;

class LowRankView : public QWidget {
    Q_OBJECT
public:
    LowRankView(JobRunner* runner, QWidget* parent = nullptr);
    void setSession(std::shared_ptr<ModelSession> s);
    QSlider* rankSlider() const { return rank_; }
    QComboBox* layerBox() const { return layer_; }
    QLabel* figures() const { return figures_; }
    const std::vector<LayerSpectrum>& spectra() const { return spectra_; }

Q_SIGNALS:
    void spectraReady();

private:
    void showLayer();
    void updateRank();

    JobRunner* runner_;
    std::shared_ptr<ModelSession> session_;
    std::vector<LayerSpectrum> spectra_;
    QComboBox* layer_;
    QSlider* rank_;
    QLabel* figures_;
    PlotView* spectrum_;
    PlotView* energy_;
    PlotView* overview_;
    int revision_ = 0;
};

} // namespace tailor::ui
