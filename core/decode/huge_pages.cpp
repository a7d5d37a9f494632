#include "huge_pages.h"
#include "core/util/error.h"

#include <ATen/Parallel.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/mman.h>

namespace tailor::decode {

std::shared_ptr<void> allocateHugePages(std::size_t n)
{
    const std::size_t huge = std::size_t(2) << 20, size = n + huge;
    void* raw = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        throw Error("out of memory: " + std::to_string(n >> 20) + " MB for decoding");
    // huge pages need 2 MB-aligned ranges; mmap only promises 4 KB alignment
    auto* p = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(raw) + huge - 1) & ~(uintptr_t(huge) - 1));
    madvise(p, n, MADV_HUGEPAGE); // advice: without THP support this is plain memory
    return std::shared_ptr<void>(p, [raw, size](void*) { munmap(raw, size); });
}

std::shared_ptr<const void> hugePageCopy(const void* src, std::size_t n)
{
    std::shared_ptr<void> dst = allocateHugePages(n);
    auto* d = static_cast<uint8_t*>(dst.get());
    const auto* s = static_cast<const uint8_t*>(src);
    at::parallel_for(0, int64_t(n), int64_t(1) << 22, [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, std::size_t(e - b)); });
    return dst;
}

int64_t availableMemory()
{
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    int64_t kb = 0;
    while (in >> key >> kb >> unit)
        if (key == "MemAvailable:")
            return kb * 1024;
    return 0;
}

} // namespace tailor::decode
