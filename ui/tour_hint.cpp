#include "tour_hint.h"
#include "settings_keys.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QTabWidget>

namespace tailor::ui {

namespace {
// What to do first on each tab, in tab order (main_window.cpp adds them so).
QStringList hints()
{
    return {
        QObject::tr("Blocks: run the scan to score every block (PPL, Taylor+, Block Influence), then click bars to mark blocks to drop."),
        QObject::tr("Quantization: pick a format and bits to see each layer's error and histogram; Size budget finds a type per layer for a target size."),
        QObject::tr("Low rank: the spectra load in the background; choose ranks by energy or budget, then press Evaluate ranks."),
        QObject::tr("Compress & Export: the plan gathers what you chose in the other views; Run plan, then Export… a Hugging Face folder or a GGUF file."),
        QObject::tr("Width: score heads and MLP channels, cut a count per block, and compare with dropping blocks at the same budget."),
        QObject::tr("Experts (mixtures such as Qwen3-MoE): measure how often the router picks each expert, keep the N most used per block, Use in plan."),
    };
}
} // namespace

TourHint::TourHint(QTabWidget* tabs, QWidget* parent) : QFrame(parent), tabs_(tabs)
{
    setObjectName("tourHint");
    setFrameShape(QFrame::StyledPanel);
    setStyleSheet("#tourHint { background: #fff8dc; }");
    text_ = new QLabel(this);
    text_->setWordWrap(true);
    dismiss_ = new QPushButton(tr("Got it, hide hints"), this);
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(8, 4, 8, 4);
    row->addWidget(text_, 1);
    row->addWidget(dismiss_);
    connect(tabs_, &QTabWidget::currentChanged, this, &TourHint::showFor);
    connect(dismiss_, &QPushButton::clicked, this, [this] {
        QSettings().setValue(keys::kTourDismissed, true);
        hide();
    });
    setVisible(!QSettings().value(keys::kTourDismissed, false).toBool());
    showFor(tabs_->currentIndex());
}

void TourHint::restart()
{
    QSettings().setValue(keys::kTourDismissed, false);
    showFor(tabs_->currentIndex());
    show();
}

void TourHint::showFor(int tab)
{
    const QStringList h = hints();
    text_->setText(tab >= 0 && tab < h.size() ? h[tab] : QString());
}

} // namespace tailor::ui
