// Writes a synthetic checkpoint of a real shape for the scale benchmarks (#8):
//   bench_write_synthetic 1b|7b DIR [--blocks N]
// BF16, sharded safetensors with an index, random weights scaled like a
// trained model, the tok512 tokenizer (vocab ids stay below 32000).
#include "tests/support/synthetic_checkpoint.h"

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_write_synthetic 1b|7b DIR [--blocks N]\n");
        return 2;
    }
    auto shape = std::string(argv[1]) == "7b" ? tailor::SyntheticShape::llama2_7B() : tailor::SyntheticShape::tinyLlama1B();
    if (argc > 4 && !std::strcmp(argv[3], "--blocks"))
        shape.n_layer = std::atoi(argv[4]);
    try {
        tailor::writeSyntheticCheckpoint(argv[2], shape, "BF16", std::string(TAILOR_SOURCE_RESOURCES) + "/models/tinystories-12L");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
