#pragma once
// glibc returns freed memory at the top of the heap to the kernel once more
// than a few MB are free, and serves large blocks with fresh mmaps. A backward
// pass keeps its whole graph alive and frees it at the end, so every scan then
// touched ~350 MB of new pages (90 k page faults on tinystories-12L's Taylor
// pass, about a third of its time). Keeping up to kRetainedBytes of freed
// memory for reuse removes that; the large-model paths call
// releaseFreedMemory() where their peak RSS matters.
#include <cstddef>

namespace tailor {

constexpr std::size_t kRetainedBytes = std::size_t(512) << 20;

// Idempotent; called by setComputeThreads, which every entry point runs.
void keepFreedMemoryForReuse();

// Hands every freed page back to the kernel now (malloc_trim): between the
// blocks of a large model, so the retained memory does not add to the peak.
void releaseFreedMemory();

} // namespace tailor
