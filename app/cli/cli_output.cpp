#include "cli_output.h"

#include <QJsonDocument>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>

namespace tailor::cli {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void onSigint(int) { g_interrupted = true; }
} // namespace

bool interrupted() { return g_interrupted; }

void printJson(const QJsonObject& o)
{
    const QByteArray b = QJsonDocument(o).toJson(QJsonDocument::Indented);
    std::fwrite(b.data(), 1, size_t(b.size()), stdout);
    std::fflush(stdout);
}

ProgressFn progressPrinter(bool quiet)
{
    std::signal(SIGINT, onSigint);
    auto eta = std::make_shared<EtaEstimator>();
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    return [=](const Progress& p) {
        if (g_interrupted)
            return false;
        const auto now = std::chrono::steady_clock::now();
        if (!quiet && (now - *last > std::chrono::milliseconds(200) || p.fraction >= 1.0)) {
            *last = now;
            const double left = eta->secondsLeft(p.fraction);
            std::fprintf(stderr, "\r%-40.40s %5.1f%%  ETA %s   ", p.stage.c_str(), 100.0 * p.fraction,
                         left < 0 ? "?" : (std::to_string(int(left + 0.5)) + "s").c_str());
            if (p.fraction >= 1.0)
                std::fprintf(stderr, "\n");
            std::fflush(stderr);
        }
        return true;
    };
}

} // namespace tailor::cli
