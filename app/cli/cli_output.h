#pragma once
// What every subcommand shares: JSON on stdout, progress with ETA on stderr
// (throttled), and Ctrl-C turned into a cancel request the engine sees at its
// next safe point.
#include "core/util/progress.h"

#include <QJsonObject>
#include <string>

namespace tailor::cli {

void printJson(const QJsonObject& o);
// Installs the SIGINT handler once; returns a ProgressFn that prints
// "stage  42.0%  ETA 12s" to stderr at most 5 times a second (unless quiet)
// and returns false once Ctrl-C was pressed.
ProgressFn progressPrinter(bool quiet);
bool interrupted();

} // namespace tailor::cli
