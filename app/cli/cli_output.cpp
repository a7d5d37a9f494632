#include "cli_output.h"

#include <QJsonDocument>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <unistd.h>

namespace tailor::cli {

namespace {
std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_quiet{false}; // --quiet on the command line: no progress at all
extern "C" void onSigint(int) { g_interrupted = true; }
} // namespace

bool interrupted() { return g_interrupted; }

void printJson(const QJsonObject& o)
{
    const QByteArray b = QJsonDocument(o).toJson(QJsonDocument::Indented);
    std::fwrite(b.data(), 1, size_t(b.size()), stdout);
    std::fflush(stdout);
}

void setQuiet(bool quiet) { g_quiet = quiet; }

namespace {
// Plain progress lines are rate-limited for the whole process, not per
// printer: a command makes several printers (tokenizing, evaluating, ...),
// and each would otherwise print its first line at once.
struct PlainLines {
    std::mutex mutex;
    std::chrono::steady_clock::time_point last{};
    std::string lastStage, pending; // pending: the newest line held back
};
PlainLines& plainLines()
{
    static PlainLines p;
    return p;
}
} // namespace

void flushProgress(bool print)
{
    PlainLines& pl = plainLines();
    std::lock_guard<std::mutex> lock(pl.mutex);
    if (print && !pl.pending.empty()) {
        std::fputs(pl.pending.c_str(), stderr);
        std::fflush(stderr);
    }
    pl.pending.clear();
}

ProgressFn progressPrinter(bool quiet)
{
    std::signal(SIGINT, onSigint);
    quiet = quiet || g_quiet;
    // A terminal gets a bar redrawn in place; a pipe or a log file gets plain
    // lines, at most one a second for the whole command (a new stage or every
    // 5 seconds), and the newest line held back is printed when the command
    // ends (flushProgress), so a log ends with where the work got to.
    const bool terminal = isatty(fileno(stderr)) != 0;
    auto eta = std::make_shared<EtaEstimator>();
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    return [=](const Progress& p) {
        if (g_interrupted)
            return false;
        if (quiet)
            return true;
        const auto now = std::chrono::steady_clock::now();
        const double left = eta->secondsLeft(p.fraction);
        const std::string etaText = left < 0 ? "?" : std::to_string(int(left + 0.5)) + "s";
        if (terminal) {
            if (now - *last > std::chrono::milliseconds(200) || p.fraction >= 1.0) {
                *last = now;
                std::fprintf(stderr, "\r%-40.40s %5.1f%%  ETA %s   ", p.stage.c_str(), 100.0 * p.fraction, etaText.c_str());
                if (p.fraction >= 1.0)
                    std::fprintf(stderr, "\n");
                std::fflush(stderr);
            }
            return true;
        }
        char line[512];
        std::snprintf(line, sizeof line, "%s: %.1f%%, ETA %s\n", p.stage.c_str(), 100.0 * p.fraction, etaText.c_str());
        PlainLines& pl = plainLines();
        std::lock_guard<std::mutex> lock(pl.mutex);
        const auto since = now - pl.last;
        const bool due = since >= std::chrono::seconds(5) || (since >= std::chrono::seconds(1) && p.stage != pl.lastStage) ||
                         pl.last == std::chrono::steady_clock::time_point{};
        if (due) {
            pl.last = now;
            pl.lastStage = p.stage;
            pl.pending.clear();
            std::fputs(line, stderr);
            std::fflush(stderr);
        } else {
            pl.pending = line;
        }
        return true;
    };
}

} // namespace tailor::cli
