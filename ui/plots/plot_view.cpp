#include "plot_view.h"

#include <qcustomplot.h>

#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace tailor::ui {

struct PlotView::Impl {
    QCustomPlot* plot = nullptr;
    QCPTextElement* title = nullptr;
    QCPBars* bars[3] = {nullptr, nullptr, nullptr}; // Normal, Greyed, Marked
    QCPItemStraightLine* reference = nullptr;
    QCPItemText* referenceText = nullptr;
    QCPItemText* placeholder = nullptr;
    std::vector<double> values;
    QStringList labels;
    std::vector<ScatterSeries> scatter;
    std::vector<QCPItemText*> scatterLabels;

    // the scatter point nearest to a widget position, within 10 pixels
    std::pair<int, int> pointAt(const QPointF& pos) const
    {
        std::pair<int, int> best{-1, -1};
        double bestD = 100;
        for (std::size_t s = 0; s < scatter.size(); ++s)
            for (std::size_t i = 0; i < scatter[s].x.size(); ++i) {
                const double dx = plot->xAxis->coordToPixel(scatter[s].x[i]) - pos.x(),
                             dy = plot->yAxis->coordToPixel(scatter[s].y[i]) - pos.y();
                if (dx * dx + dy * dy <= bestD)
                    bestD = dx * dx + dy * dy, best = {int(s), int(i)};
            }
        return best;
    }
    QCPBars* histogram = nullptr;
    std::vector<QCPItemStraightLine*> vlines;
    QCPColorMap* heatmap = nullptr;
    QCPColorScale* colorScale = nullptr;

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
    b->removeFromLegend(); // the legend is for named curves; bar colours are explained in titles
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
    d->placeholder = new QCPItemText(d->plot);
    d->placeholder->position->setType(QCPItemPosition::ptAxisRectRatio);
    d->placeholder->position->setCoords(0.5, 0.5);
    d->placeholder->setColor(Qt::gray);
    d->placeholder->setVisible(false);
    d->plot->setMouseTracking(true);
    setMinimumHeight(160);

    // labels of scatter points are placed after every layout, when their pixel positions are known
    connect(d->plot, &QCustomPlot::afterLayout, this, [this] { arrangeScatterLabels(); });
    connect(d->plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        const auto [s, p] = d->pointAt(e->position());
        if (s >= 0 && p < d->scatter[std::size_t(s)].labels.size()) {
            QToolTip::showText(e->globalPosition().toPoint(), d->scatter[std::size_t(s)].labels[p], d->plot);
            return;
        }
        const int i = d->indexAt(d->plot->xAxis->pixelToCoord(e->position().x()));
        if (i >= 0)
            QToolTip::showText(e->globalPosition().toPoint(), hoverText(i), d->plot);
        else
            QToolTip::hideText();
    });
    connect(d->plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        const auto [s, p] = d->pointAt(e->position());
        if (s >= 0) {
            Q_EMIT pointClicked(s, p);
            return;
        }
        if (d->heatmap && d->heatmap->data()->keySize() > 0) {
            const int col = int(std::lround(d->plot->xAxis->pixelToCoord(e->position().x())));
            const int row = int(std::lround(d->plot->yAxis->pixelToCoord(e->position().y())));
            if (col >= 0 && col < d->heatmap->data()->keySize() && row >= 0 && row < d->heatmap->data()->valueSize())
                Q_EMIT cellClicked(row, col);
            return;
        }
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

void PlotView::setPlaceholder(const QString& text)
{
    d->placeholder->setText(text);
    d->placeholder->setVisible(!text.isEmpty());
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

QString PlotView::placeholder() const
{
    return d->placeholder->visible() ? d->placeholder->text() : QString();
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
    if (d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic && !any)
        d->plot->yAxis->setRange(1, 10);
    else if (d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic)
        d->plot->yAxis->setRange(std::max(1e-9, lo * 0.8), std::max(hi * 1.25, 1e-8));
    else
        d->plot->yAxis->setRange(std::min(0.0, lo), any || hasRef ? hi * 1.1 + 1e-12 : 1.0);
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotView::clear()
{
    setBars({}, {}, {});
    setVerticalLines({}, {});
    if (d->histogram)
        d->histogram->data()->clear();
}

void PlotView::setHistogram(const std::vector<double>& edges, const std::vector<double>& counts)
{
    if (!d->histogram) {
        d->histogram = new QCPBars(d->plot->xAxis, d->plot->yAxis);
        d->histogram->removeFromLegend();
        d->histogram->setPen(QPen(QColor(70, 130, 180)));
        d->histogram->setBrush(QColor(70, 130, 180, 170));
        d->plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    QVector<double> keys, vals;
    double top = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        keys << 0.5 * (edges[i] + edges[i + 1]);
        vals << counts[i];
        top = std::max(top, counts[i]);
    }
    d->histogram->setWidth(counts.empty() ? 1 : (edges.back() - edges.front()) / double(counts.size()));
    d->histogram->setData(keys, vals, true);
    if (!edges.empty()) {
        const double pad = 0.05 * (edges.back() - edges.front());
        d->plot->xAxis->setRange(edges.front() - pad, edges.back() + pad);
    }
    if (d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic)
        d->plot->yAxis->setRange(0.5, std::max(2.0, top * 2));
    else
        d->plot->yAxis->setRange(0, std::max(1.0, top * 1.08));
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotView::setVerticalLines(const std::vector<double>& range, const std::vector<double>& levels)
{
    for (auto* l : d->vlines)
        d->plot->removeItem(l);
    d->vlines.clear();
    auto add = [&](double x, const QPen& pen) {
        auto* l = new QCPItemStraightLine(d->plot);
        l->point1->setCoords(x, 0);
        l->point2->setCoords(x, 1);
        l->setPen(pen);
        d->vlines.push_back(l);
    };
    if (levels.size() <= 64) // denser grids would hide the histogram
        for (double x : levels)
            add(x, QPen(QColor(90, 90, 90, 170), 1, Qt::DashLine));
    for (double x : range)
        add(x, QPen(QColor(220, 50, 40), 2));
    if (!range.empty()) { // keep the range in view even where no weight reaches it
        QCPRange r = d->plot->xAxis->range();
        const double lo = *std::min_element(range.begin(), range.end()), hi = *std::max_element(range.begin(), range.end());
        const double pad = 0.05 * (std::max(r.upper, hi) - std::min(r.lower, lo));
        d->plot->xAxis->setRange(std::min(r.lower, lo - pad), std::max(r.upper, hi + pad));
    }
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotView::setCurves(const std::vector<std::vector<double>>& xs, const std::vector<std::vector<double>>& ys,
                         const QStringList& names, const std::vector<QPen>& pens)
{
    for (int i = d->plot->graphCount() - 1; i >= 0; --i)
        d->plot->removeGraph(i);
    static const QColor colours[] = {QColor(70, 130, 180), QColor(220, 80, 60),  QColor(60, 160, 90),  QColor(150, 90, 180),
                                     QColor(230, 150, 30), QColor(100, 100, 100), QColor(0, 170, 170), QColor(190, 60, 140)};
    d->plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    bool first = true;
    for (std::size_t c = 0; c < xs.size(); ++c) {
        QCPGraph* g = d->plot->addGraph();
        g->setPen(c < pens.size() ? pens[c] : QPen(colours[c % 8], 2));
        if (xs[c].size() <= 2)
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, g->pen().color(), 8));
        g->setName(c < std::size_t(names.size()) ? names[int(c)] : QString());
        g->setData(QVector<double>(xs[c].begin(), xs[c].end()), QVector<double>(ys[c].begin(), ys[c].end()), true);
        for (std::size_t i = 0; i < xs[c].size(); ++i) {
            const double y = ys[c][i];
            if (!std::isfinite(y) || (d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic && y <= 0))
                continue; // NaN = a gap in the curve
            x0 = first ? xs[c][i] : std::min(x0, xs[c][i]);
            x1 = first ? xs[c][i] : std::max(x1, xs[c][i]);
            y0 = first ? y : std::min(y0, y);
            y1 = first ? y : std::max(y1, y);
            first = false;
        }
    }
    d->plot->legend->setVisible(xs.size() > 1);
    d->plot->xAxis->setRange(x0, x1 > x0 ? x1 : x0 + 1);
    if (d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic)
        d->plot->yAxis->setRange(y0 * 0.8, y1 * 1.25);
    else
        d->plot->yAxis->setRange(std::min(0.0, y0), y1 * 1.05 + 1e-12);
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotView::setScatter(const std::vector<ScatterSeries>& series, bool logX)
{
    for (int i = d->plot->graphCount() - 1; i >= 0; --i)
        d->plot->removeGraph(i);
    for (QCPItemText* t : d->scatterLabels)
        d->plot->removeItem(t);
    d->scatterLabels.clear();
    d->scatter = series;
    d->plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    const bool logY = d->plot->yAxis->scaleType() == QCPAxis::stLogarithmic;
    d->plot->xAxis->setScaleType(logX ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    bool first = true;
    for (const ScatterSeries& sr : series) {
        QCPGraph* g = d->plot->addGraph();
        g->setName(sr.name);
        QColor c = QColor(70, 130, 180);
        if (sr.shape == ScatterSeries::Shape::Curve) {
            g->setPen(QPen(c, 2));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
        } else if (sr.shape == ScatterSeries::Shape::Points) {
            c = sr.colour.isValid() ? sr.colour : QColor(100, 100, 100);
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, QPen(c, 1.5), Qt::NoBrush, 8));
        } else if (sr.shape == ScatterSeries::Shape::Files) {
            c = sr.colour.isValid() ? sr.colour : QColor(30, 130, 60);
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(c, 2), c.lighter(170), 11));
        } else {
            c = QColor(220, 40, 40);
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssStar, QPen(c, 2.5), c, 18));
        }
        g->setData(QVector<double>(sr.x.begin(), sr.x.end()), QVector<double>(sr.y.begin(), sr.y.end()));
        if (sr.x.empty())
            g->removeFromLegend(); // a series with nothing to show yet (indices stay fixed)
        for (std::size_t i = 0; i < sr.x.size(); ++i) {
            if (!std::isfinite(sr.y[i]) || (logY && sr.y[i] <= 0) || (logX && sr.x[i] <= 0))
                continue;
            x0 = first ? sr.x[i] : std::min(x0, sr.x[i]);
            x1 = first ? sr.x[i] : std::max(x1, sr.x[i]);
            y0 = first ? sr.y[i] : std::min(y0, sr.y[i]);
            y1 = first ? sr.y[i] : std::max(y1, sr.y[i]);
            first = false;
            if ((sr.shape == ScatterSeries::Shape::Points || sr.shape == ScatterSeries::Shape::Files) && i < std::size_t(sr.labels.size())) {
                auto* t = new QCPItemText(d->plot);
                t->position->setCoords(sr.x[i], sr.y[i]);
                t->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
                t->setPadding(QMargins(5, 0, 0, 2));
                t->setColor(c);
                t->setFont(QFont(font().family(), 8));
                t->setText(sr.labels[int(i)].section(QLatin1Char(':'), 0, 0));
                d->scatterLabels.push_back(t);
            }
        }
    }
    d->plot->legend->setVisible(std::count_if(series.begin(), series.end(), [](const ScatterSeries& sr) { return !sr.x.empty(); }) > 1);
    const double xm = logX ? 1.15 : 1.0, xpad = logX ? 0 : 0.05 * (x1 - x0 + 1e-12);
    d->plot->xAxis->setRange(x0 / xm - xpad, x1 * xm + 2 * xpad); // room for the labels right of the points
    if (logY)
        d->plot->yAxis->setRange(y0 * 0.6, y1 * 1.6);
    else
        d->plot->yAxis->setRange(std::min(0.0, y0), y1 * 1.08 + 1e-12);
    d->plot->replot(QCustomPlot::rpQueuedReplot);
}

// Each label of a uniform scheme takes the first of four places around its
// point (above right, below right, above left, below left) where it overlaps
// no label placed before it and stays inside the axis rect; a label with no
// free place is hidden (hovering its point still shows it in a tooltip).
void PlotView::arrangeScatterLabels()
{
    const QRect area = d->plot->axisRect()->rect();
    std::vector<QRect> placed;
    std::vector<QCPItemText*> order = d->scatterLabels;
    std::sort(order.begin(), order.end(), [](QCPItemText* a, QCPItemText* b) { return a->position->pixelPosition().x() < b->position->pixelPosition().x(); });
    const Qt::Alignment places[] = {Qt::AlignLeft | Qt::AlignBottom, Qt::AlignLeft | Qt::AlignTop, Qt::AlignRight | Qt::AlignBottom,
                                    Qt::AlignRight | Qt::AlignTop};
    for (QCPItemText* t : order) {
        const QPointF at = t->position->pixelPosition();
        const QFontMetrics fm(t->font());
        const QSize size = fm.size(0, t->text()) + QSize(7, 2);
        bool shown = false;
        for (Qt::Alignment a : places) {
            const int x = (a & Qt::AlignLeft) ? int(at.x()) : int(at.x()) - size.width();
            const int y = (a & Qt::AlignBottom) ? int(at.y()) - size.height() : int(at.y());
            const QRect r(QPoint(x, y), size);
            if (!area.contains(r) || std::any_of(placed.begin(), placed.end(), [&](const QRect& o) { return o.intersects(r); }))
                continue;
            t->setPositionAlignment(a);
            t->setPadding((a & Qt::AlignLeft) ? QMargins(5, 0, 0, 2) : QMargins(0, 0, 5, 2));
            placed.push_back(r);
            shown = true;
            break;
        }
        t->setVisible(shown);
    }
}

int PlotView::visibleScatterLabels() const
{
    return int(std::count_if(d->scatterLabels.begin(), d->scatterLabels.end(), [](QCPItemText* t) { return t->visible(); }));
}

QRect PlotView::scatterLabelRect(int i) const
{
    if (i < 0 || i >= int(d->scatterLabels.size()) || !d->scatterLabels[std::size_t(i)]->visible())
        return {};
    QCPItemText* t = d->scatterLabels[std::size_t(i)];
    const QPointF at = t->position->pixelPosition();
    const QSize size = QFontMetrics(t->font()).size(0, t->text()) + QSize(7, 2);
    const Qt::Alignment a = t->positionAlignment();
    const int x = (a & Qt::AlignLeft) ? int(at.x()) : int(at.x()) - size.width();
    const int y = (a & Qt::AlignBottom) ? int(at.y()) - size.height() : int(at.y());
    return QRect(QPoint(x, y), size);
}

QPoint PlotView::pointCenter(int s, int i) const
{
    if (s < 0 || s >= int(d->scatter.size()) || i < 0 || i >= int(d->scatter[std::size_t(s)].x.size()))
        return {-1, -1};
    d->plot->replot(QCustomPlot::rpImmediateRefresh); // layout must be current
    return QPoint(int(d->plot->xAxis->coordToPixel(d->scatter[std::size_t(s)].x[std::size_t(i)])),
                  int(d->plot->yAxis->coordToPixel(d->scatter[std::size_t(s)].y[std::size_t(i)])));
}

QPoint PlotView::cellCenter(int row, int col) const
{
    if (!d->heatmap || col < 0 || row < 0 || col >= d->heatmap->data()->keySize() || row >= d->heatmap->data()->valueSize())
        return {-1, -1};
    d->plot->replot(QCustomPlot::rpImmediateRefresh); // layout must be current
    return QPoint(int(d->plot->xAxis->coordToPixel(col)), int(d->plot->yAxis->coordToPixel(row)));
}

int PlotView::curveCount() const
{
    return d->plot->graphCount();
}

int PlotView::verticalLineCount() const { return int(d->vlines.size()); }

void PlotView::setHeatmap(const std::vector<std::vector<double>>& values, const QStringList& rowLabels,
                          const QStringList& colLabels, const QString& scaleLabel, double scaleFloor)
{
    if (!d->heatmap) {
        d->heatmap = new QCPColorMap(d->plot->xAxis, d->plot->yAxis);
        d->colorScale = new QCPColorScale(d->plot);
        d->plot->plotLayout()->addElement(1, 1, d->colorScale);
        d->heatmap->setColorScale(d->colorScale);
        QCPColorGradient g(QCPColorGradient::gpHot);
        g.setNanHandling(QCPColorGradient::nhTransparent);
        d->heatmap->setGradient(g.inverted());
        d->heatmap->setInterpolate(false);
        auto* group = new QCPMarginGroup(d->plot);
        d->plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
        d->colorScale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    }
    const int rows = int(values.size()), cols = rows ? int(values[0].size()) : 0;
    d->heatmap->data()->setSize(cols, rows);
    d->heatmap->data()->setRange(QCPRange(0, std::max(0, cols - 1)), QCPRange(0, std::max(0, rows - 1)));
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            d->heatmap->data()->setCell(c, r, values[r][c]);
    d->heatmap->rescaleDataRange(true);
    if (std::isfinite(scaleFloor))
        d->heatmap->setDataRange(QCPRange(scaleFloor, std::max(scaleFloor + 1e-9, d->heatmap->dataRange().upper)));
    d->colorScale->axis()->setLabel(scaleLabel);
    QSharedPointer<QCPAxisTickerText> xt(new QCPAxisTickerText), yt(new QCPAxisTickerText);
    for (int c = 0; c < colLabels.size(); ++c)
        xt->addTick(c, colLabels[c]);
    for (int r = 0; r < rowLabels.size(); ++r)
        yt->addTick(r, rowLabels[r]);
    d->plot->xAxis->setTicker(xt);
    d->plot->yAxis->setTicker(yt);
    d->plot->xAxis->setRange(-0.5, cols - 0.5);
    d->plot->yAxis->setRange(-0.5, rows - 0.5);
    d->plot->replot(QCustomPlot::rpQueuedReplot);
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
