#include "model_tree_dock.h"

#include "core/model/model_session.h"

#include <QHeaderView>
#include <QLabel>
#include <QStandardItemModel>
#include <QTreeView>
#include <QVBoxLayout>

namespace tailor::ui {

QString formatCount(double n)
{
    if (n >= 1e9)
        return QString::number(n / 1e9, 'f', 2) + " B";
    if (n >= 1e6)
        return QString::number(n / 1e6, 'f', 2) + " M";
    if (n >= 1e3)
        return QString::number(n / 1e3, 'f', 1) + " K";
    return QString::number(n);
}

ModelTreeDock::ModelTreeDock(QWidget* parent) : QDockWidget(tr("Model"), parent)
{
    setObjectName("ModelTreeDock");
    auto* w = new QWidget(this);
    auto* l = new QVBoxLayout(w);
    l->setContentsMargins(4, 4, 4, 4);
    header_ = new QLabel(tr("No model open. File > Open model… or drop a folder here."), w);
    header_->setWordWrap(true);
    view_ = new QTreeView(w);
    model_ = new QStandardItemModel(this);
    model_->setHorizontalHeaderLabels({tr("Name"), tr("Shape"), tr("DType"), tr("Parameters")});
    view_->setModel(model_);
    view_->setUniformRowHeights(true);
    l->addWidget(header_);
    l->addWidget(view_);
    setWidget(w);
}

void ModelTreeDock::setSummary(const ModelSummary& s)
{
    header_->setText(tr("<b>%1</b><br>%2, %3 blocks, hidden %4, %5 heads / %6 KV<br>%7 parameters, %8, %9 MB")
                         .arg(QString::fromStdString(s.dir).section('/', -1))
                         .arg(QString::fromStdString(s.model_type))
                         .arg(s.n_layer)
                         .arg(s.hidden_size)
                         .arg(s.n_head)
                         .arg(s.n_head_kv)
                         .arg(formatCount(double(s.parameters)))
                         .arg(QString::fromStdString(s.dtype))
                         .arg(double(s.file_bytes) / 1e6, 0, 'f', 1));
    model_->removeRows(0, model_->rowCount());
    std::vector<QStandardItem*> blocks(std::size_t(s.n_layer), nullptr);
    std::vector<int64_t> blockParams(std::size_t(s.n_layer), 0);
    auto row = [](const TensorSummary& t) {
        QStringList dims;
        for (auto d : t.shape)
            dims << QString::number(d);
        QList<QStandardItem*> r{new QStandardItem(QString::fromStdString(t.name)), new QStandardItem(dims.join(" × ")),
                                new QStandardItem(QString::fromStdString(t.dtype)),
                                new QStandardItem(formatCount(double(t.parameters)))};
        for (auto* i : r)
            i->setEditable(false);
        return r;
    };
    for (const auto& t : s.tensors) {
        if (t.block < 0 || t.block >= s.n_layer) {
            model_->appendRow(row(t));
            continue;
        }
        auto& b = blocks[std::size_t(t.block)];
        if (!b) {
            b = new QStandardItem(tr("block %1").arg(t.block));
            b->setEditable(false);
            model_->appendRow({b, new QStandardItem, new QStandardItem, new QStandardItem});
        }
        b->appendRow(row(t));
        blockParams[std::size_t(t.block)] += t.parameters;
    }
    for (int i = 0; i < int(blocks.size()); ++i)
        if (blocks[std::size_t(i)])
            model_->item(blocks[std::size_t(i)]->row(), 3)->setText(formatCount(double(blockParams[std::size_t(i)])));
    view_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
}

} // namespace tailor::ui
