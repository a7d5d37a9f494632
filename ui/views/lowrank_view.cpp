#include "lowrank_view.h"
#include "ui/job_runner.h"
#include "ui/plots/plot_view.h"

#include "core/model_session.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QLabel>
#include <QSlider>
#include <QVBoxLayout>

namespace tailor::ui {

LowRankView::LowRankView(JobRunner* runner, QWidget* parent) : QWidget(parent), runner_(runner)
{
    auto* root = new QGridLayout(this);
    auto* controls = new QFormLayout;
    layer_ = new QComboBox(this);
    rank_ = new QSlider(Qt::Horizontal, this);
    rank_->setMinimum(1);
    figures_ = new QLabel(tr("Open a model."), this);
    figures_->setWordWrap(true);
    figures_->setMinimumWidth(320);
    controls->addRow(tr("Layer"), layer_);
    controls->addRow(tr("Rank"), rank_);
    controls->addRow(figures_);
    auto* left = new QWidget(this);
    left->setLayout(controls);
    left->setMaximumWidth(420);
    spectrum_ = new PlotView(this);
    spectrum_->setTitle(tr("Singular values (red: chosen rank; dashed: break-even rank)"));
    spectrum_->setLogY(true);
    spectrum_->setAxisLabels(tr("index"), tr("σ"));
    energy_ = new PlotView(this);
    energy_->setTitle(tr("Energy retained Σσ²(≤k) / Σσ²"));
    energy_->setAxisLabels(tr("rank k"), QString());
    overview_ = new PlotView(this);
    overview_->setTitle(tr("Rank for 95 % energy / full rank per layer, q k v o gate up down of each block (grey: above break-even)"));
    root->addWidget(left, 0, 0, 2, 1);
    root->addWidget(spectrum_, 0, 1);
    root->addWidget(energy_, 0, 2);
    root->addWidget(overview_, 1, 1, 1, 2);
    connect(layer_, &QComboBox::currentIndexChanged, this, [this] { showLayer(); });
    connect(rank_, &QSlider::valueChanged, this, [this] { updateRank(); });
}

void LowRankView::setSession(std::shared_ptr<ModelSession> s)
{
    session_ = std::move(s);
    const int rev = ++revision_;
    spectra_.clear();
    layer_->clear();
    if (!session_)
        return;
    auto session = session_;
    figures_->setText(tr("Computing singular values…"));
    runner_->submit<std::vector<LayerSpectrum>>(
        tr("Singular-value spectra"),
        [session](const ProgressFn& p) { return computeSpectra(session->model(), linearLayers(session->model(), ""), p); }, this,
        [this, rev](const std::vector<LayerSpectrum>& s) {
            if (rev != revision_)
                return;
            spectra_ = s;
            std::vector<double> share;
            QStringList labels;
            std::vector<BarStyle> styles;
            for (const auto& l : spectra_) {
                layer_->addItem(QString::fromStdString(l.name));
                share.push_back(double(l.rank95) / double(l.singular_values.size()));
                // one tick label per block (at its q_proj) keeps 7 bars per block readable
                const QString n = QString::fromStdString(l.name);
                labels << (n.contains("q_proj") ? "b" + n.section('.', 2, 2) : QString());
                styles.push_back(l.rank95 > l.break_even_rank ? BarStyle::Greyed : BarStyle::Normal);
            }
            overview_->setBars(share, labels, styles); // break-even differs per shape: greyed bars mark it

            showLayer();
            Q_EMIT spectraReady();
        });
}

void LowRankView::showLayer()
{
    const int i = layer_->currentIndex();
    if (i < 0 || i >= int(spectra_.size()))
        return;
    const LayerSpectrum& s = spectra_[std::size_t(i)];
    std::vector<double> idx, sv, energy, ks;
    for (std::size_t k = 0; k < s.singular_values.size(); ++k) {
        idx.push_back(double(k + 1));
        sv.push_back(s.singular_values[k]);
        ks.push_back(double(k + 1));
        energy.push_back(s.energyAt(int64_t(k + 1)));
    }
    spectrum_->setCurves({idx}, {sv}, {QString::fromStdString(s.name)});
    energy_->setCurves({ks}, {energy}, {tr("energy")});
    rank_->blockSignals(true);
    rank_->setMaximum(int(s.singular_values.size()));
    rank_->setValue(int(s.rank95));
    rank_->blockSignals(false);
    updateRank();
}

void LowRankView::updateRank()
{
    const int i = layer_->currentIndex();
    if (i < 0 || i >= int(spectra_.size()))
        return;
    const LayerSpectrum& s = spectra_[std::size_t(i)];
    const int64_t k = rank_->value();
    const int64_t before = s.rows * s.cols, after = k * (s.rows + s.cols);
    figures_->setText(tr("<b>%1</b><br>%2 × %3, effective rank %4<br>rank %5: energy retained <b>%6 %</b><br>"
                         "parameters %7 → %8 (<b>%9 %</b> saved)<br>break-even rank %10; 90/95/99 % energy at %11 / %12 / %13")
                          .arg(QString::fromStdString(s.name))
                          .arg(s.rows)
                          .arg(s.cols)
                          .arg(s.effective_rank, 0, 'f', 1)
                          .arg(k)
                          .arg(100 * s.energyAt(k), 0, 'f', 2)
                          .arg(before)
                          .arg(after)
                          .arg(100.0 * double(before - after) / double(before), 0, 'f', 1)
                          .arg(s.break_even_rank)
                          .arg(s.rank90)
                          .arg(s.rank95)
                          .arg(s.rank99));
    spectrum_->setVerticalLines({double(k)}, {double(s.break_even_rank)});
    energy_->setVerticalLines({double(k)}, {double(s.break_even_rank)});
}

} // namespace tailor::ui
