#pragma once
// Anonymous memory on 2 MB boundaries with transparent huge pages asked for
// (madvise; Debian's default THP mode). Streaming gigabytes of weights through
// 4 KB pages costs a TLB miss every 4 KB: on the 1.1B shape decoding read the
// checkpoint's file mapping at 20-30 GB/s and a huge-page copy at 35 GB/s.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tailor::decode {

// n bytes, zero-filled lazily by the kernel; freed when the last owner goes.
std::shared_ptr<void> allocateHugePages(std::size_t n);

// A copy of n bytes (copied by the compute threads).
std::shared_ptr<const void> hugePageCopy(const void* src, std::size_t n);

// MemAvailable from /proc/meminfo (0 when unknown): whether copies of the
// weights fit beside what other programs use.
int64_t availableMemory();

} // namespace tailor::decode
