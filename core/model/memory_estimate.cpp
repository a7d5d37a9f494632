#include "memory_estimate.h"
#include "core/util/error.h"
#include "model_config.h"

#include <QByteArray>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace tailor {

namespace {
std::string gb(double bytes)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
    return buf;
}
} // namespace

std::string MemoryEstimate::describe() const
{
    std::ostringstream o;
    o << "≈ " << gb(total()) << " (mapped weights " << gb(mapped) << " + fp32 weights " << gb(widened) << " + activations "
      << gb(activations);
    if (job > 0)
        o << " + job " << gb(job);
    o << " + runtime " << gb(runtime) << ")";
    return o.str();
}

MemoryEstimate estimateMemory(const ModelConfig& c, uint64_t fileBytes, MemoryJob job, int64_t tokens)
{
    MemoryEstimate e;
    const double H = double(c.hidden_size), I = double(c.intermediate_size), V = double(c.vocab_size), L = double(c.n_layer);
    const double block = double(c.blockParameters()), total = double(c.totalParameters());
    const double batch = double(std::min<int64_t>(std::max<int64_t>(tokens, 1), 2048));
    e.mapped = double(fileBytes);
    // small models keep every block widened (Model::kFp32CacheBytes = 256 MB)
    e.widened = (total * 4 <= double(int64_t(256) << 20) ? total * 4 : block * 4) + V * H * 4;
    // hidden states, q/k/v/o, the MLP's three wide tensors, attention scores (128-token windows) and a 64 MB logits chunk
    e.activations = batch * (8 * H + 4 * I) * 4 + batch * double(c.n_head) * 128 * 4 * 2 + double(64 << 20);
    e.runtime = 0.6e9;
    if (job == MemoryJob::BlockScan)
        e.job = 2 * double(tokens) * H * 4; // the dense block inputs kept for the scan
    else if (job == MemoryJob::Taylor)
        e.job = L * double(tokens) * H * 4 + block * 4 * 2 + double(tokens) * (10 * H + 4 * I) * 4; // inputs, grads, graph
    else if (job == MemoryJob::Quantize)
        e.job = 3 * H * std::max(H, I) * 4; // one layer in fp32, its quantized copy and the error
    return e;
}

double machineMemoryBytes()
{
    const QByteArray env = qgetenv("TAILOR_MEMORY_LIMIT");
    if (!env.isEmpty()) {
        double v = env.toDouble();
        const char unit = env.back();
        if (unit == 'K' || unit == 'k')
            v = env.chopped(1).toDouble() * 1e3;
        else if (unit == 'M' || unit == 'm')
            v = env.chopped(1).toDouble() * 1e6;
        else if (unit == 'G' || unit == 'g')
            v = env.chopped(1).toDouble() * 1e9;
        if (v > 0)
            return v;
    }
    return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
}

void requireMemory(const std::string& what, const MemoryEstimate& e)
{
    const double have = machineMemoryBytes();
    if (e.total() > have)
        throw Error(what + ": needs " + e.describe() + ", but this machine has " + gb(have) +
                    " of memory; use a smaller model, fewer calibration tokens, or a larger machine (sharded scans: --only-blocks)");
}

} // namespace tailor
