#pragma once
// The lattices behind llama.cpp's grid i-quants, as ggml-quants.c's
// iq2xs_init_impl / iq3xs_init_impl build them to quantize: a group of D
// magnitudes (D = 8 for IQ2, 4 for IQ3) is rounded to levels l (value 2l + 1,
// B bits each); the point's code (B bits per coordinate) either is a grid
// entry or has a precomputed list of nearest grid entries to choose from.
#include <cstdint>
#include <vector>

namespace tailor::gguf::lattice {

struct Lattice {
    int dims = 0, bits = 0;
    std::vector<int8_t> grid;         // size x dims, the values 2l + 1
    std::vector<int> map;             // code -> grid index, or -(offset + 1) of its neighbour list
    std::vector<uint16_t> neighbours; // at an offset: count, then grid indices (nearest distances first, then index)

    const int8_t* point(int index) const { return grid.data() + std::size_t(index) * std::size_t(dims); }
};

enum class Kind { IQ1, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S };

// Built once on first use (thread-safe), as llama.cpp builds it.
const Lattice& get(Kind kind);

// The code of `dims` levels L.
inline int codeOf(const Lattice& g, const int8_t* L)
{
    int u = 0;
    for (int i = 0; i < g.dims; ++i)
        u |= L[i] << g.bits * i;
    return u;
}

// iq2/iq3_find_best_neighbour: the listed grid point nearest x/scale in the
// weighted norm (the first on ties) for the off-grid code u; its levels go to L.
int bestNeighbour(const Lattice& g, int u, const float* xval, const float* weight, float scale, int8_t* L);

} // namespace tailor::gguf::lattice
