#include "plot_view.h"

#include <qcustomplot.h>

#include <QToolTip>
#include <QVBoxLayout>
#include <cmath>

namespace tailor::ui {

struct PlotView::Impl {
    QCustomPlot* plot = nullptr;
    QCPTextElement* title = nullptr;
    QCPBars* bars[3] = {nullptr, nullptr, nullptr}; // Normal, Greyed, Marked
    QCPItemStraightLine* reference = nullptr;
    QCPItemText* referenceText = nullptr;
    std::vector<double> values;
    QStringList labels;

    int indexAt(double x) const
    {
        const int i = int(std::lround(x));
        return i >= 0 && i < int(values.size()) && std::abs(x - i) < 0.45 ? i : -1;
    }
};

namespace {
QCPBars* makeBars(QCustomPlot* p, const QColor& fill)
{
    auto* b = new QCPBars(p->xAxis, p->yAxis);
    b->setWidth(0.7);
    b->setPen(QPen(fill.darker(130)));
    b->setBrush(fill);
    return b;
}
} // namespace

PlotView::PlotView(QWidget* parent) : QWidget(parent), d(std::make_unique<Impl>())
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    d->plot = new QCustomPlot(this);
    layout->addWidget(d->plot);
    d->plot->plotLayout()->insertRow(0);
    d->title = new QCPTextElement(d->plot, "", QFont(font().family(), 10, QFont::Bold));
    d->plot->plotLayout()->addElement(0, 0, d->title);
    d->bars[0] = makeBars(d->plot, QColor(70, 130, 180));
    d->bars[1] = makeBars(d->plot, QColor(200, 200, 200));
    d->bars[2] = makeBars(d->plot, QColor(220, 80, 60));
    d->reference = new QCPItemStraightLine(d->plot);
    d->reference->setPen(QPen(Qt::darkGray, 1, Qt::DashLine));
    d->reference->setVisible(false);
    d->referenceText = new QCPItemText(d->plot);
    d->referenceText->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
    d->referenceText->setColor(Qt::darkGray);
    d->referenceText->setVisible(false);
    d->plot->setMouseTracking(true);
    setMinimumHeight(160);

    connect(d->plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        const int i = d->indexAt(d->plot->xAxis->pixelToCoord(e->position().x()));
        if (i >= 0)
            QToolTip::showText(e->globalPosition().toPoint(), hoverText(i), d->plot);
        else
            QToolTip::hideText();
    });
    connect(d->plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        const int i = d->indexAt(d->plot->xAxis->pixelToCoord(e->position().x()));
        if (i >= 0)
            Q_EMIT barClicked(i);
    });
}

PlotView::~PlotView() = default;

void PlotView::setTitle(const QString& title)
{
    d->title->setText(title);
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotView::setAxisLabels(const QString& x, const QString& y)
{
    d->plot->xAxis->setLabel(x);
    d->plot->yAxis->setLabel(y);
}

void PlotView::setLogY(bool on)
{
    d->plot->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (on)
        d->plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        d->plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
}

void PlotView::setBars(const std::vector<double>& values, const QStringList& labels, const std::vector<BarStyle>& styles,
                       double reference, const QString& referenceLabel)
{
    d->values = values;
    d->labels = labels;
    QVector<double> keys[3], vals[3];
    double lo = 0, hi = 0;
    bool any = false;
    for (int i = 0; i < int(values.size()); ++i) {
        if (std::isnan(values[i]))
            continue;
        const int s = i < int(styles.size()) ? int(styles[i]) : 0;
        keys[s] << i;
        vals[s] << values[i];
        lo = any ? std::min(lo, values[i]) : values[i];
        hi = any ? std::max(hi, values[i]) : values[i];
        any = true;
    }
    for (int s = 0; s < 3; ++s)
        d->bars[s]->setData(keys[s], vals[s], true);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < labels.size(); ++i)
        ticker->addTick(i, labels[i]);
    d->plot->xAxis->setTicker(ticker);
    d->plot->xAxis->setRange(-0.6, std::max<double>(1, double(values.size())) - 0.4);
    const bool hasRef = !std::isnan(reference);
    if (hasRef) {
        hi = any ? std::max(hi, reference) : reference;
        d->reference->point1->setCoords(-1, reference);
        d->reference->point2->setCoords(1, reference);
        d->referenceText->position->setCoords(double(values.size()) - 0.5, reference);
        d->referenceText->setText(referenceLabel);
    }
    d->reference->setVisible(hasRef);
    d->referenceText->setVisible(hasRef && !referenceLabel.isEmpty());
    if (d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic)
        d->plot->yAxis->setRange(std::max(1e-9, lo * 0.8), std::max(hi * 1.25, 1e-8));
    else
        d->plot->yAxis->setRange(std::min(0.0, lo), any || hasRef ? hi * 1.1 + 1e-12 : 1.0);
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotView::clear()
{
    setBars({}, {}, {});
}

QString PlotView::hoverText(int i) const
{
    if (i < 0 || i >= int(d->values.size()))
        return {};
    const QString label = i < d->labels.size() ? d->labels[i] : QString::number(i);
    return std::isnan(d->values[i]) ? label + ": not computed" : label + ": " + QString::number(d->values[i], 'g', 6);
}

int PlotView::barCount() const { return int(d->values.size()); }

QPoint PlotView::barCenter(int i) const
{
    d->plot->replot(QCustomPlot::rpImmediateRefresh); // layout must be current
    const double v = i < int(d->values.size()) && !std::isnan(d->values[i]) ? d->values[i] : 0.0;
    const double y = d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic ? std::sqrt(std::max(v, 1e-9) * d->plot->yAxis->range().lower)
                                                                           : v / 2;
    return QPoint(int(d->plot->xAxis->coordToPixel(i)), int(d->plot->yAxis->coordToPixel(y)));
}

QWidget* PlotView::canvas() const { return d->plot; }

bool PlotView::saveImage(const QString& path, int width, int height)
{
    return d->plot->savePng(path, width, height);
}

} // namespace tailor::ui
