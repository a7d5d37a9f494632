#include "ggml_iq_lattice.h"
#include "ggml_iq_grids.h"

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <utility>

namespace tailor::gguf::lattice {

namespace {

// nwant: how many distinct nearest distances each off-grid point keeps.
Lattice build(const uint16_t* codes, int size, int dims, int bits, int nwant)
{
    Lattice g;
    g.dims = dims;
    g.bits = bits;
    const int mask = (1 << bits) - 1;
    const int mapSize = dims == 8 ? 43692 : 4096; // llama.cpp's kmap_size: every code up to the largest level pattern
    g.grid.resize(std::size_t(size) * std::size_t(dims));
    for (int k = 0; k < size; ++k)
        for (int i = 0; i < dims; ++i)
            g.grid[std::size_t(k * dims + i)] = int8_t(2 * ((codes[k] >> bits * i) & mask) + 1);
    g.map.assign(std::size_t(mapSize), -1);
    for (int k = 0; k < size; ++k)
        g.map[codes[k]] = k;
    std::vector<std::pair<int, int>> dist(static_cast<std::size_t>(size)); // (squared distance, grid index)
    int8_t pos[8];
    std::vector<int> nearest(static_cast<std::size_t>(nwant));
    std::vector<std::pair<int, int>> kept;
    for (int code = 0; code < mapSize; ++code) {
        if (g.map[std::size_t(code)] >= 0)
            continue;
        for (int k = 0; k < dims; ++k)
            pos[k] = int8_t(2 * ((code >> bits * k) & mask) + 1);
        for (int j = 0; j < size; ++j) {
            const int8_t* pg = g.point(j);
            int d2 = 0;
            for (int k = 0; k < dims; ++k)
                d2 += (pg[k] - pos[k]) * (pg[k] - pos[k]);
            dist[std::size_t(j)] = {d2, j};
        }
        // llama.cpp sorts all (distance, index) pairs and keeps those at the
        // nwant smallest distances; the same list, without sorting the rest:
        std::fill(nearest.begin(), nearest.end(), INT32_MAX); // the nwant smallest distinct distances
        for (const auto& p : dist) {
            const int d = p.first;
            for (int r = 0; r < nwant; ++r) {
                if (d == nearest[r])
                    break;
                if (d < nearest[r]) {
                    for (int s = nwant - 1; s > r; --s)
                        nearest[std::size_t(s)] = nearest[std::size_t(s - 1)];
                    nearest[r] = d;
                    break;
                }
            }
        }
        const int limit = nearest[nwant - 1]; // (fewer distinct distances than nwant: all are kept, as in llama.cpp)
        kept.clear();
        for (const auto& p : dist)
            if (p.first <= limit)
                kept.push_back(p);
        std::sort(kept.begin(), kept.end()); // distance, then index: a total order, as llama.cpp's qsort comparator
        const std::size_t start = g.neighbours.size();
        g.map[std::size_t(code)] = -int(start + 1);
        g.neighbours.push_back(0);
        for (const auto& p : kept)
            g.neighbours.push_back(uint16_t(p.second));
        const int n = int(kept.size());
        g.neighbours[start] = uint16_t(n);
    }
    return g;
}

} // namespace

const Lattice& get(Kind kind)
{
    switch (kind) {
    case Kind::IQ1: {
        static const Lattice g = build(grids::kIq1Codes, 2048, 8, 2, 3);
        return g;
    }
    case Kind::IQ2_XXS: {
        static const Lattice g = build(grids::kIq2xxsCodes, 256, 8, 2, 2);
        return g;
    }
    case Kind::IQ2_XS: {
        static const Lattice g = build(grids::kIq2xsCodes, 512, 8, 2, 2);
        return g;
    }
    case Kind::IQ2_S: {
        static const Lattice g = build(grids::kIq2sCodes, 1024, 8, 2, 1);
        return g;
    }
    case Kind::IQ3_XXS: {
        static const Lattice g = build(grids::kIq3xxsCodes, 256, 4, 3, 2);
        return g;
    }
    case Kind::IQ3_S: break;
    }
    static const Lattice g = build(grids::kIq3sCodes, 512, 4, 3, 3);
    return g;
}

int bestNeighbour(const Lattice& g, int u, const float* xval, const float* weight, float scale, int8_t* L)
{
    const uint16_t* list = &g.neighbours[std::size_t(-g.map[std::size_t(u)] - 1)];
    const int count = list[0];
    float best = FLT_MAX;
    int index = -1;
    for (int j = 1; j <= count; ++j) {
        const int8_t* pg = g.point(list[j]);
        float d2 = 0;
        for (int i = 0; i < g.dims; ++i) {
            const float q = pg[i];
            const float diff = scale * q - xval[i];
            d2 += weight[i] * diff * diff;
        }
        if (d2 < best) {
            best = d2;
            index = list[j];
        }
    }
    const int8_t* pg = g.point(index);
    for (int i = 0; i < g.dims; ++i)
        L[i] = int8_t((pg[i] - 1) / 2);
    return index;
}

} // namespace tailor::gguf::lattice
