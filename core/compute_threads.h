#pragma once
// libtorch starts with one thread on these machines; every entry point sets it.
namespace tailor {
// n <= 0 means all cores. Returns the number in force.
int setComputeThreads(int n);
} // namespace tailor
