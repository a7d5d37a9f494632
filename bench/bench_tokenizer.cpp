// Tokenizer speed (#3): first load of the Llama 3 tokenizer.json (9 MB) and
// encoding English text on one core, in MB/s.
// Usage: bench_tokenizer [TOKENIZER_DIR] [TEXT_FILE]
#include "bench_common.h"

#include "core/model/model_session.h"
#include "core/tokenizer/tokenizer.h"

#include <memory>

int main(int argc, char** argv)
{
    const std::string dir = argc > 1 ? argv[1] : std::string(TAILOR_SOURCE_RESOURCES) + "/../tests/data/tokenizers/llama3";
    const std::string textFile = argc > 2 ? argv[2] : std::string(TAILOR_SOURCE_RESOURCES) + "/data/tinystories-valid-99.txt";
    std::shared_ptr<tailor::Tokenizer> tok;
    const double load = bench::seconds([&] { tok = tailor::Tokenizer::load(dir); });
    std::string text;
    const std::string one = tailor::readTextFile(textFile);
    while (text.size() < (8u << 20))
        text += one;
    size_t n = 0;
    const double cold = bench::seconds([&] { n = tok->encode(one).size(); });
    const double t = bench::seconds([&] { n = tok->encode(text).size(); });
    std::printf("%s: load %.2f s; first encode of %.2f MB %.3f s; %.1f MB of English text -> %zu tokens in %.2f s = %.2f MB/s (one thread)\n",
                dir.c_str(), load, one.size() / 1e6, cold, text.size() / 1e6, n, t, text.size() / 1e6 / t);
    return 0;
}
