// tailor-cli: the engine, scriptable. Every error ends in one line on stderr and
// a non-zero exit code: 1 error, 2 usage, 130 cancelled (Ctrl-C).
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "core/error.h"

#include <QApplication>
#include <algorithm>
#include <memory>
#include <cstdio>
#include <cstring>
#include <functional>

using namespace tailor;

namespace {

struct Command {
    const char* name;
    int (*run)(const cli::Argv&);
    const char* usage;
};

const Command kCommands[] = {
    {"info", cli::cmdInfo, "info MODEL_DIR|FILE.gguf [--json]"},
    {"eval", cli::cmdEval, "eval MODEL_DIR --text FILE [--seq-len L] [--max-windows N] [--threads T] [--drop 2,5] [--json]"},
    {"tokenize", cli::cmdTokenize, "tokenize MODEL_OR_TOKENIZER_DIR (--text FILE | --string S | --text-list FILE) [--json]"},
    {"blocks", cli::cmdBlocks, "blocks MODEL_DIR --calib FILE [--criterion ppl|taylor|bi|all] [--windows N] [--seq-len L]\n"
                               "         [--exclude 0,1,2,3,-2,-1] [--random-windows --seed S] [--only-blocks A-B] [--out FILE] [--json]"},
    {"drop", cli::cmdDrop, "drop MODEL_DIR --blocks 2,3 --text FILE [--seq-len L] [--max-windows N] [--json]"},
    {"merge", cli::cmdMerge, "merge PART.json... [--out FILE]"},
    {"quant", cli::cmdQuant, "quant MODEL_DIR --calib FILE [--method rtn|gptq [--act-order]] [--bits B --group G|channel|tensor (--sym|--asym) [--clip mse]\n"
                             "         | --scheme q8_0|q4_0 | --mixed PLAN.json] [--layers REGEX] [--embeddings SCHEME] [--lm-head SCHEME]\n"
                             "         [--acts B [--acts-range minmax|percentile|dynamic] [--acts-percentile P]] [--sensitivity]\n"
                             "         [--text FILE] [--windows N] [--seq-len L] [--json]"},
    {"qat", cli::cmdQat, "qat MODEL_DIR --text FILE [--bits B --group G (--sym|--asym) | --scheme NAME] [--quant-noise P] [--steps N]\n"
                         "         [--lr LR] [--batch B] [--layers REGEX] [--kd-weight W] [--eval FILE] [--out DIR [--type f32|bf16] [--force]] [--json]"},
    {"spectrum", cli::cmdSpectrum, "spectrum MODEL_DIR [--layers REGEX] [--top-k K [--power-iterations Q]] [--no-cache] [--json]"},
    {"lowrank", cli::cmdLowRank, "lowrank MODEL_DIR --calib FILE (--energy E | --budget B | --ranks FILE.json) [--whiten]\n"
                                 "         [--layers REGEX] [--top-k K] [--text FILE] [--json]"},
    {"generate", cli::cmdGenerate, "generate MODEL_DIR|PLAN.json --prompt S [--max-tokens N] [--temperature T --top-p P --seed S] [--drop 2,5] [--json]"},
    {"compress", cli::cmdCompress, "compress --plan PLAN.json --out DIR|FILE.gguf [--format hf|gguf] [--type f32|f16|bf16|q8_0|q4_0] [--text FILE] [--force]\n"
                                   "         [--heal-text FILE [--heal-steps N] [--heal-rank R] [--heal-alpha A] [--heal-lr LR]\n"
                                   "          [--heal-batch B] [--heal-accum K] [--kd-weight W] [--kd-temperature T]] [--json]"},
};

void usage(FILE* to)
{
    std::fprintf(to, "usage: tailor-cli COMMAND ...\n");
    for (const auto& c : kCommands)
        std::fprintf(to, "  tailor-cli %s\n", c.usage);
}

} // namespace

int main(int argc, char** argv)
{
    // Reports draw their charts with the views' plotting code: that needs a
    // QApplication, offscreen unless the caller chose a platform.
    const bool charts = std::any_of(argv, argv + argc, [](const char* a) { return !std::strcmp(a, "--report"); });
    if (charts && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    std::unique_ptr<QCoreApplication> app(charts ? new QApplication(argc, argv) : new QCoreApplication(argc, argv));
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const cli::Argv args(argv + 2, argv + argc);
    for (const auto& c : kCommands) {
        if (std::strcmp(argv[1], c.name) != 0)
            continue;
        try {
            return c.run(args);
        } catch (const cli::UsageError& e) {
            std::fprintf(stderr, "tailor-cli %s: %s\nusage: tailor-cli %s\n", c.name, e.what(), c.usage);
            return 2;
        } catch (const Cancelled&) {
            std::fprintf(stderr, "\ntailor-cli %s: cancelled\n", c.name);
            return 130;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "\ntailor-cli %s: error: %s\n", c.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "tailor-cli: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
