#pragma once
// How many cores the engine computes on. libtorch starts with one thread on
// these machines, so every entry point calls setComputeThreads.
//
// By default the count adapts to the machine: OpenMP workers (libtorch and
// OpenBLAS) spin-wait at every barrier for the slowest thread, so a team of
// two on a 2-core machine where another program holds a core runs at a
// fraction of one thread's speed (eval on tinystories-12L: 0.08x of idle with
// 2 threads beside one busy process, 0.8x with 1 thread). The engine samples
// how much CPU time other processes used since the last look (/proc/stat minus
// this process's own time, /proc/self/stat) at its progress points, and uses
// the cores they leave free. docs/threads.md has the measurements and the
// alternatives that were tried (OMP_WAIT_POLICY=PASSIVE costs a third of the
// idle speed).
namespace tailor {

// n > 0: exactly n threads, fixed. n <= 0: adaptive, starting from the cores
// others leave free. Returns the number in force.
int setComputeThreads(int n);

// Called at progress points (reportProgress) on the computing thread: with an
// adaptive setting, re-checks at most every kAdaptIntervalMs how many cores
// other processes keep busy and sets the thread count to the rest (at least
// one). Cheap when called more often.
void adaptComputeThreads();

constexpr int kAdaptIntervalMs = 250;
// The first decision of a process samples the load over this long before computing.
constexpr int kFirstLookMs = 30;

// Two runs of the same computation agree to this relative tolerance: a
// different thread count reorders floating-point sums (2e-9 seen on PPL
// between 1 and 2 threads). Shard merges and the tests use it.
constexpr double kThreadCountRelTolerance = 1e-7;

} // namespace tailor
