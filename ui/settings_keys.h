#pragma once
// QSettings keys and defaults in one place, so a key is spelled once.
#include <QString>

namespace tailor::ui::keys {

inline const QString kGeometry = QStringLiteral("MainWindow/geometry");
inline const QString kWindowState = QStringLiteral("MainWindow/state");
inline const QString kRecentModels = QStringLiteral("MainWindow/recentModels");
inline const QString kEvalText = QStringLiteral("Eval/textFile");
inline const QString kEvalSeqLen = QStringLiteral("Eval/seqLen");
inline const QString kEvalMaxWindows = QStringLiteral("Eval/maxWindows");
inline const QString kBlocksCalib = QStringLiteral("Blocks/calibFile");
inline const QString kBlocksWindows = QStringLiteral("Blocks/windows");
inline const QString kBlocksSeqLen = QStringLiteral("Blocks/seqLen");
inline const QString kBlocksExclude = QStringLiteral("Blocks/exclude");
inline const QString kCurrentTab = QStringLiteral("MainWindow/tab");
inline const QString kTourDismissed = QStringLiteral("Tour/dismissed");
constexpr int kMaxRecent = 8;

} // namespace tailor::ui::keys
