#pragma once
// Every chart in Tailor goes through PlotView, which keeps QCustomPlot behind a
// pimpl (as PlotJuggler's PlotWidgetBase hides Qwt): views speak in values,
// labels and styles, never in QCP types.
#include <QString>
#include <QStringList>
#include <QPen>
#include <QColor>
#include <QWidget>

#include <cmath>

#include <memory>
#include <vector>

namespace tailor::ui {

enum class BarStyle { Normal, Greyed, Marked };

// Points of a scatter chart (a Pareto curve): Curve joins its points with a
// line, Points draws open squares with their labels written beside them,
// Highlight a large red star.
struct ScatterSeries {
    enum class Shape { Curve, Points, Highlight, Files }; // Files: labelled points of another colour (imported models)
    QString name;
    Shape shape = Shape::Curve;
    std::vector<double> x, y;
    QStringList labels; // per point: hover text, and written beside Points
    QColor colour;      // Points and Files: instead of the shape's own colour
};

class PlotView : public QWidget {
    Q_OBJECT
public:
    explicit PlotView(QWidget* parent = nullptr);
    ~PlotView() override;

    void setTitle(const QString& title);
    void setAxisLabels(const QString& x, const QString& y);
    void setLogY(bool on);
    // One bar per label; NaN values are left empty. `reference` (optional,
    // NaN = none) draws a dashed horizontal line, e.g. the dense model's PPL.
    void setBars(const std::vector<double>& values, const QStringList& labels, const std::vector<BarStyle>& styles,
                 double reference = std::numeric_limits<double>::quiet_NaN(), const QString& referenceLabel = {});
    // A histogram over bin edges (edges.size() == counts.size() + 1).
    void setHistogram(const std::vector<double>& edges, const std::vector<double>& counts);
    // Vertical lines at x: solid red for ranges, faint grey for grid levels.
    void setVerticalLines(const std::vector<double>& range, const std::vector<double>& levels);
    // A heat map: values[row][col], NaN cells blank; larger is redder. The
    // colour scale spans the values, or starts at scaleFloor when given (so
    // that the smallest value is not drawn as white, like a blank cell).
    void setHeatmap(const std::vector<std::vector<double>>& values, const QStringList& rowLabels,
                    const QStringList& colLabels, const QString& scaleLabel, double scaleFloor = std::nan(""));
    // Line curves (replacing earlier ones); colours cycle.
    // `pens` (optional, per curve) replace the default colours; a curve of at
    // most two points is drawn with dots (measurements, not a trace).
    void setCurves(const std::vector<std::vector<double>>& xs, const std::vector<std::vector<double>>& ys,
                   const QStringList& names, const std::vector<QPen>& pens = {});
    // Scatter series (replacing curves and earlier series); log axes as set.
    void setScatter(const std::vector<ScatterSeries>& series, bool logX = false);
    // Widget position of a scatter point (tests click it); (-1, -1) when absent.
    // Labels of the Points series of a scatter: how many are shown, and where
    // (pixels in the plot; empty when hidden), so a test can check that no two overlap.
    int visibleScatterLabels() const;
    QRect scatterLabelRect(int i) const;
    QPoint pointCenter(int series, int index) const;
    // Widget position of a heat map cell's centre (tests click it); (-1, -1) when absent.
    QPoint cellCenter(int row, int col) const;
    // A grey note in the middle of the chart (e.g. "not computed"); empty hides it.
    void setPlaceholder(const QString& text);
    QString placeholder() const;
    int verticalLineCount() const;
    int curveCount() const;
    void clear();
    // Value shown on hover for the bar at `index` (tests read it).
    QString hoverText(int index) const;
    bool saveImage(const QString& path, int width = 0, int height = 0);
    int barCount() const;
    // Widget position of bar i's middle (tests click it).
    QPoint barCenter(int index) const;
    QWidget* canvas() const;

Q_SIGNALS:
    void barClicked(int index);
    void pointClicked(int series, int index); // a scatter point within 10 pixels of the click
    void cellClicked(int row, int col);       // a heat map's cell

private:
    void arrangeScatterLabels();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace tailor::ui
