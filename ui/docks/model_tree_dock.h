#pragma once
// The opened model as a tree: globals, then blocks -> tensors with shape,
// dtype and parameter count.
#include <QDockWidget>

class QStandardItemModel;
class QTreeView;
class QLabel;

namespace tailor {
struct ModelSummary;
}

namespace tailor::ui {

class ModelTreeDock : public QDockWidget {
    Q_OBJECT
public:
    explicit ModelTreeDock(QWidget* parent = nullptr);
    void setSummary(const ModelSummary& s);
    QStandardItemModel* model() const { return model_; }

private:
    QLabel* header_;
    QTreeView* view_;
    QStandardItemModel* model_;
};

QString formatCount(double n); // 2.28 M, 6.74 B

} // namespace tailor::ui
