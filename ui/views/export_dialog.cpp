#include "export_dialog.h"
#include "core/formats/gguf/gguf_mixture.h"

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>

namespace tailor::ui {

namespace {
const QString kAsStored = QStringLiteral("as stored");
}

std::optional<ExportRequest> askExport(QWidget* parent)
{
    QDialog dlg(parent);
    dlg.setWindowTitle(QObject::tr("Export the compressed model"));
    auto* form = new QFormLayout(&dlg);
    auto* format = new QComboBox(&dlg);
    format->addItems({QObject::tr("Hugging Face folder"), QObject::tr("GGUF file (llama.cpp)")});
    auto* type = new QComboBox(&dlg);
    auto* path = new QLineEdit(&dlg);
    auto* browse = new QPushButton(QObject::tr("…"), &dlg);
    auto fillTypes = [type, format] {
        type->clear();
        if (format->currentIndex() == 0) {
            type->addItems({kAsStored, "BF16", "F16", "F32"});
            return;
        }
        // llama-quantize's file types, typed per tensor as it would
        for (const gguf::Mixture& m : gguf::mixtures())
            type->addItem(QString(m.name).toUpper());
        type->setCurrentText("Q4_K_M");
    };
    fillTypes();
    QObject::connect(format, &QComboBox::currentIndexChanged, &dlg, fillTypes);
    QObject::connect(browse, &QPushButton::clicked, &dlg, [&] {
        const QString p = format->currentIndex() == 0 ? QFileDialog::getSaveFileName(&dlg, QObject::tr("Output folder"))
                                                      : QFileDialog::getSaveFileName(&dlg, QObject::tr("GGUF file"), "model.gguf", "GGUF (*.gguf)");
        if (!p.isEmpty())
            path->setText(p);
    });
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(path, 1);
    pathRow->addWidget(browse);
    form->addRow(QObject::tr("Format"), format);
    form->addRow(QObject::tr("Tensor type"), type);
    auto* imatrix = new QLineEdit(&dlg);
    imatrix->setPlaceholderText(QObject::tr("optional: importance matrix (tailor-cli imatrix, or llama.cpp's)"));
    auto* imBrowse = new QPushButton(QObject::tr("…"), &dlg);
    QObject::connect(imBrowse, &QPushButton::clicked, &dlg, [&] {
        const QString p = QFileDialog::getOpenFileName(&dlg, QObject::tr("Importance matrix"), {}, "imatrix (*.gguf)");
        if (!p.isEmpty())
            imatrix->setText(p);
    });
    auto* imRow = new QHBoxLayout;
    imRow->addWidget(imatrix, 1);
    imRow->addWidget(imBrowse);
    form->addRow(QObject::tr("Importance matrix"), imRow);
    auto showImatrix = [&] {
        imatrix->setEnabled(format->currentIndex() == 1);
        imBrowse->setEnabled(format->currentIndex() == 1);
    };
    showImatrix();
    QObject::connect(format, &QComboBox::currentIndexChanged, &dlg, showImatrix);
    form->addRow(QObject::tr("Output"), pathRow);
    form->addRow(new QLabel(QObject::tr("A report (Markdown, JSON, charts) is written to <output>.report."), &dlg));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dlg);
    form->addRow(buttons);
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dlg, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
    if (dlg.exec() != QDialog::Accepted || path->text().isEmpty())
        return std::nullopt;
    ExportRequest r;
    r.path = path->text();
    if (QFileInfo::exists(r.path)) {
        if (QMessageBox::question(parent, QObject::tr("Export"), QObject::tr("%1 exists. Replace it?").arg(r.path)) != QMessageBox::Yes)
            return std::nullopt;
        r.force = true;
    }
    r.format = format->currentIndex() == 0 ? "hf" : "gguf";
    r.type = type->currentText() == kAsStored ? QString() : type->currentText();
    r.imatrix = format->currentIndex() == 1 ? imatrix->text() : QString();
    return r;
}

} // namespace tailor::ui
