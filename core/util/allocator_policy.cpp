#include "allocator_policy.h"

#include <malloc.h>
#include <mutex>

namespace tailor {

void keepFreedMemoryForReuse()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // Setting either value turns off glibc's dynamic thresholds, so set
        // both: blocks up to 32 MB (the dynamic maximum) come from the heap.
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, int(kRetainedBytes));
    });
}

void releaseFreedMemory()
{
    malloc_trim(0);
}

} // namespace tailor
