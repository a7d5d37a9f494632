#include "compute_threads.h"
#include "allocator_policy.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace tailor {

namespace {

int hardwareCores() { return int(std::max(1u, std::thread::hardware_concurrency())); }

// CPU time in clock ticks: every process on the machine (the "cpu" line of
// /proc/stat, idle and iowait left out) and this process alone (utime + stime
// of /proc/self/stat, all its threads).
struct CpuSample {
    std::chrono::steady_clock::time_point at;
    double allBusy = 0, self = 0;
    bool valid = false;
};

CpuSample sampleCpu()
{
    CpuSample s;
    s.at = std::chrono::steady_clock::now();
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu")
        return s;
    s.allBusy = user + nice + system + irq + softirq + steal;
    std::ifstream self("/proc/self/stat");
    std::string line;
    if (!std::getline(self, line))
        return s;
    // fields after the command name, which may contain spaces: ") state ppid ..."
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return s;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) { // utime is field 14, stime 15
        if (i == 14)
            utime = std::stod(field);
        if (i == 15)
            stime = std::stod(field);
    }
    s.self = utime + stime;
    s.valid = true;
    return s;
}

struct AdaptiveState {
    std::mutex mutex;
    CpuSample last;
    int free = 0; // 0: not measured yet
};

AdaptiveState& state()
{
    static AdaptiveState s;
    return s;
}

// The thread count asked for on this (computing) thread: OpenMP's count is a
// per-thread setting, and each job thread chooses its own.
thread_local int requested = 0;

int measureFreeCores()
{
    AdaptiveState& st = state();
    std::lock_guard<std::mutex> lock(st.mutex);
    const int cores = hardwareCores();
    const auto now = std::chrono::steady_clock::now();
    if (st.last.valid && now - st.last.at < std::chrono::milliseconds(kAdaptIntervalMs))
        return st.free > 0 ? st.free : cores;
    CpuSample s = sampleCpu();
    if (!s.valid)
        return cores; // no /proc: use every core
    if (!st.last.valid) {
        // The first decision of the process: without a load figure it would
        // take every core until the next sample, and beside a busy program
        // those first windows (a short evaluation's whole run) are the slow,
        // spin-waiting ones. A 30 ms look (3 clock ticks) tells a busy core
        // from an idle one (docs/threads.md).
        st.last = s;
        std::this_thread::sleep_for(std::chrono::milliseconds(kFirstLookMs));
        s = sampleCpu();
    }
    if (st.last.valid && s.valid) {
        const double wall = std::chrono::duration<double>(s.at - st.last.at).count();
        const double ticks = double(sysconf(_SC_CLK_TCK));
        const double others = std::max(0.0, ((s.allBusy - st.last.allBusy) - (s.self - st.last.self)) / (ticks * wall));
        // a core counts as taken once others keep it more than 60 % busy
        st.free = std::clamp(cores - int(std::floor(others + 0.4)), 1, cores);
    }
    st.last = s;
    return st.free > 0 ? st.free : cores;
}

void applyThreads(int n)
{
    if (at::get_num_threads() != n)
        at::set_num_threads(n);
}

} // namespace

int setComputeThreads(int n)
{
    keepFreedMemoryForReuse();
    requested = n;
    applyThreads(n > 0 ? n : measureFreeCores());
    return at::get_num_threads();
}

void adaptComputeThreads()
{
    // inside a parallel region the count would only apply to nested work
    if (requested > 0 || at::in_parallel_region())
        return;
    applyThreads(measureFreeCores());
}

} // namespace tailor
