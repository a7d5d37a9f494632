#pragma once
// The first-run tour: one line above the views saying what to do first on
// the tab in front ("Run the scan to score each block..."), until the user
// dismisses it; the dismissal is remembered in the settings, so the hints
// show on a first run and never again unless asked for (View -> Show hints).
#include <QFrame>

class QLabel;
class QPushButton;
class QTabWidget;

namespace tailor::ui {

class TourHint : public QFrame {
    Q_OBJECT
public:
    // Follows `tabs`; the hint for each tab is its row in tour_hint.cpp.
    TourHint(QTabWidget* tabs, QWidget* parent = nullptr);

    QLabel* text() const { return text_; }
    QPushButton* dismissButton() const { return dismiss_; }
    // Shows the hints again (forgets the dismissal).
    void restart();

private:
    void showFor(int tab);

    QTabWidget* tabs_;
    QLabel* text_;
    QPushButton* dismiss_;
};

} // namespace tailor::ui
