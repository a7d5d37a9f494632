#include "cli_output.h"

#include <QJsonDocument>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
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

ProgressFn progressPrinter(bool quiet)
{
    std::signal(SIGINT, onSigint);
    quiet = quiet || g_quiet;
    // A terminal gets a bar redrawn in place; a pipe or a log file gets plain
    // lines, at most one a second: when the stage changes, every 5 seconds
    // within a stage, and its end.
    const bool terminal = isatty(fileno(stderr)) != 0;
    struct State {
        EtaEstimator eta;
        std::chrono::steady_clock::time_point last{};
        std::string stage;
        bool printedEnd = false;
        bool pendingEnd = false; // a stage finished within a second of the last line
        bool plain = false;
        // The command is done with this printer: a finished stage whose line
        // the once-a-second rule held back is still said, so a log always
        // ends with where the work got to.
        ~State()
        {
            if (plain && pendingEnd && !printedEnd) {
                std::fprintf(stderr, "%s: 100.0%%, ETA 0s\n", stage.c_str());
                std::fflush(stderr);
            }
        }
    };
    auto st = std::make_shared<State>();
    st->plain = !terminal && !quiet;
    return [=](const Progress& p) {
        if (g_interrupted)
            return false;
        if (quiet)
            return true;
        const auto now = std::chrono::steady_clock::now();
        const double left = st->eta.secondsLeft(p.fraction);
        const std::string eta = left < 0 ? "?" : std::to_string(int(left + 0.5)) + "s";
        const bool newStage = p.stage != st->stage;
        if (newStage) {
            st->stage = p.stage;
            st->printedEnd = false;
        }
        if (terminal) {
            if (now - st->last > std::chrono::milliseconds(200) || p.fraction >= 1.0) {
                st->last = now;
                std::fprintf(stderr, "\r%-40.40s %5.1f%%  ETA %s   ", p.stage.c_str(), 100.0 * p.fraction, eta.c_str());
                if (p.fraction >= 1.0)
                    std::fprintf(stderr, "\n");
                std::fflush(stderr);
            }
            return true;
        }
        const auto since = now - st->last;
        const bool due = since >= std::chrono::seconds(5) ||
                         (since >= std::chrono::seconds(1) && (newStage || (p.fraction >= 1.0 && !st->printedEnd)));
        st->pendingEnd = p.fraction >= 1.0;
        if (due) {
            st->last = now;
            st->printedEnd = p.fraction >= 1.0;
            std::fprintf(stderr, "%s: %.1f%%, ETA %s\n", p.stage.c_str(), 100.0 * p.fraction, eta.c_str());
            std::fflush(stderr);
        }
        return true;
    };
}

} // namespace tailor::cli
