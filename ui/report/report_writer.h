#pragma once
// A compression report as a folder other people can read: report.json (the
// engine's JSON), report.md, and its charts as PNG files drawn by PlotView, the
// same plotting code the views use (PPL per stage, block influence with the
// dropped blocks marked, per-layer output error, the healing loss). The folder
// is assembled beside the target and renamed into place, so a failure leaves
// nothing half-written. Needs a QApplication (offscreen is fine).
#include "core/compress/compression_report.h"

#include <QString>

namespace tailor::ui {

// Returns the files written (relative to dir). Throws Error naming the path.
QStringList writeReportFolder(const CompressionReport& report, const QString& dir, bool force);

} // namespace tailor::ui
