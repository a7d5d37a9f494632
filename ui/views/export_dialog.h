#pragma once
// The Compress page's export dialog: Hugging Face folder or GGUF file, the
// tensor type (the folder's dtype or one of llama-quantize's file types), an
// optional importance matrix and the output path; asks before replacing.
#include <QString>
#include <optional>

class QWidget;

namespace tailor::ui {

struct ExportRequest {
    QString path;
    QString format;  // "hf" | "gguf"
    QString type;    // "" = as stored (HF); a dtype or a file type name
    QString imatrix; // GGUF only, may be empty
    bool force = false; // the user agreed to replace an existing output
};

// Null when the user cancels (or declines to replace).
std::optional<ExportRequest> askExport(QWidget* parent);

} // namespace tailor::ui
