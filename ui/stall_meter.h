#pragma once
// Longest gap between ticks of a 5 ms timer on the thread that creates it: how
// long the UI thread went without processing events (a responsive window stays
// well under 50 ms). Used by the GUI tests and the GUI scale benchmark.
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <algorithm>

namespace tailor::ui {

class StallMeter : public QObject {
public:
    StallMeter()
    {
        timer_.setInterval(5);
        connect(&timer_, &QTimer::timeout, this, [this] {
            const qint64 ms = clock_.restart();
            worst_ = std::max(worst_, ms);
            ++ticks_;
        });
        clock_.start();
        timer_.start();
    }
    qint64 worstMs() const { return worst_; }
    qint64 ticks() const { return ticks_; }

private:
    QTimer timer_;
    QElapsedTimer clock_;
    qint64 worst_ = 0, ticks_ = 0;
};

} // namespace tailor::ui
