// Throughput beside another busy program (#13): `tailor-cli eval` on
// tinystories-12L (L = 128) alone, then while a busy-looping process holds a
// core, in alternating rounds; the ratio busy / idle of each round and their
// median. The same for a fixed two-thread team (--threads 2: the behaviour
// before threads adapted) to show what the adaptation buys.
// Usage: bench_contention [--rounds N] [--busy K]
#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

double evalTokensPerSecond(const QStringList& extra)
{
    const QString res = TAILOR_SOURCE_RESOURCES;
    QProcess p;
    p.start(TAILOR_CLI, QStringList{"eval", res + "/models/tinystories-12L", "--text", res + "/data/tinystories-valid-99.txt",
                                    "--seq-len", "128", "--json"} + extra);
    p.waitForFinished(-1);
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object().value("tokens_per_s").toDouble();
}

std::vector<pid_t> startBusy(int k)
{
    std::vector<pid_t> pids;
    for (int i = 0; i < k; ++i) {
        const pid_t pid = fork();
        if (pid == 0) {
            volatile unsigned long x = 0;
            for (;;)
                x = x + 1;
        }
        pids.push_back(pid);
    }
    usleep(200000);
    return pids;
}

void stopBusy(const std::vector<pid_t>& pids)
{
    for (pid_t p : pids) {
        kill(p, SIGKILL);
        waitpid(p, nullptr, 0);
    }
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

} // namespace

int main(int argc, char** argv)
{
    int rounds = 5, busy = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--busy")) busy = std::atoi(argv[i + 1]);
    }
    std::printf("tailor-cli eval tinystories-12L, L = 128; %d busy process(es); %d rounds\n", busy, rounds);
    std::printf("%5s %12s %12s %8s %14s %14s %8s\n", "round", "idle", "busy", "ratio", "idle(-t 2)", "busy(-t 2)", "ratio");
    std::vector<double> adaptive, fixed2, idleRates;
    for (int r = 0; r < rounds; ++r) {
        const double idle = evalTokensPerSecond({});
        const double idle2 = evalTokensPerSecond({"--threads", "2"});
        const auto pids = startBusy(busy);
        const double loaded = evalTokensPerSecond({});
        const double loaded2 = evalTokensPerSecond({"--threads", "2"});
        stopBusy(pids);
        adaptive.push_back(loaded / idle);
        fixed2.push_back(loaded2 / idle2);
        idleRates.push_back(idle);
        std::printf("%5d %12.0f %12.0f %8.3f %14.0f %14.0f %8.3f\n", r, idle, loaded, loaded / idle, idle2, loaded2, loaded2 / idle2);
    }
    std::printf("median ratio busy/idle: adaptive threads %.3f, fixed 2 threads %.3f (idle median %.0f tokens/s)\n",
                median(adaptive), median(fixed2), median(idleRates));
    return 0;
}
