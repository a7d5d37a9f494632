#pragma once
// What every subcommand shares: JSON on stdout, progress with ETA on stderr
// (throttled), and Ctrl-C turned into a cancel request the engine sees at its
// next safe point.
#include "core/util/progress.h"

#include <QJsonObject>
#include <string>

namespace tailor::cli {

void printJson(const QJsonObject& o);
// Installs the SIGINT handler once; returns a ProgressFn that shows
// "stage  42.0%  ETA 12s" on stderr (unless quiet or --quiet) and returns
// false once Ctrl-C was pressed. On a terminal it is a bar redrawn in place at
// most 5 times a second; elsewhere (a pipe, a log file) plain lines at most
// once a second for the whole command plus its last line at the end, so a
// log holds no carriage returns or redraws.
ProgressFn progressPrinter(bool quiet);
// The end of a command: prints the newest plain progress line the rate limit
// held back (print = true, the command succeeded) or drops it.
void flushProgress(bool print);
// --quiet for the whole command (the dispatcher takes it off the command line).
void setQuiet(bool quiet);
bool interrupted();

} // namespace tailor::cli
