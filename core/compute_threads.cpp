#include "compute_threads.h"
#include "allocator_policy.h"

#include <ATen/Parallel.h>
#include <thread>

namespace tailor {

int setComputeThreads(int n)
{
    keepFreedMemoryForReuse();
    if (n <= 0)
        n = int(std::max(1u, std::thread::hardware_concurrency()));
    if (at::get_num_threads() != n)
        at::set_num_threads(n);
    return at::get_num_threads();
}

} // namespace tailor
