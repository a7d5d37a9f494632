// The tailor-cli dispatcher: finds the command, runs it, and turns every
// exception into one line on stderr and an exit code (1 error, 2 usage, 130
// cancelled). A library so the bad-input campaigns can run thousands of
// commands in one process (tests/core/test_bad_input.cpp).
#include "cli_main.h"
#include "cli_args.h"
#include "commands.h"
#include "core/util/error.h"

#include <cstdio>
#include <cstring>

using namespace tailor;

namespace {

struct Command {
    const char* name;
    int (*run)(const cli::Argv&);
    const char* usage;
};

const Command kCommands[] = {
    {"info", cli::cmdInfo, "info MODEL_DIR|FILE.gguf [--json]"},
    {"eval", cli::cmdEval, "eval MODEL_DIR|PLAN.json --text FILE [--seq-len L] [--max-windows N] [--threads T] [--drop 2,5] [--base BASE_DIR|PLAN.json] [--json]"},
    {"tokenize", cli::cmdTokenize, "tokenize MODEL_OR_TOKENIZER_DIR (--text FILE | --string S | --text-list FILE) [--json]"},
    {"blocks", cli::cmdBlocks, "blocks MODEL_DIR --calib FILE [--criterion ppl|taylor|bi|all] [--windows N] [--seq-len L]\n"
                               "         [--exclude 0,1,2,3,-2,-1] [--random-windows --seed S] [--only-blocks A-B] [--out FILE] [--json]"},
    {"drop", cli::cmdDrop, "drop MODEL_DIR --blocks 2,3 --text FILE [--seq-len L] [--max-windows N] [--json]"},
    {"merge", cli::cmdMerge, "merge PART.json... [--out FILE]"},
    {"quant", cli::cmdQuant, "quant MODEL_DIR --calib FILE [--method rtn|gptq [--act-order]] [--bits B --group G|channel|tensor (--sym|--asym) [--clip mse]\n"
                             "         | --scheme q8_0|q4_0 | --mixed PLAN.json] [--layers REGEX] [--embeddings SCHEME] [--lm-head SCHEME]\n"
                             "         | (--target-bpw B | --target-size BYTES[K|M|G]|TYPE) [--imatrix FILE] [--schemes a,b] [--text FILE]\n"
                             "           [--max-windows N] [--points N] [--probe reference|every] [--no-reference] [--out PLAN.json]\n"
                             "         [--acts B [--acts-range minmax|percentile|dynamic] [--acts-percentile P]] [--sensitivity]\n"
                             "         [--text FILE] [--windows N] [--seq-len L] [--json]"},
    {"qat", cli::cmdQat, "qat MODEL_DIR --text FILE [--bits B --group G (--sym|--asym) | --scheme NAME] [--quant-noise P] [--steps N]\n"
                         "         [--lr LR] [--batch B] [--layers REGEX] [--kd-weight W] [--eval FILE] [--out DIR [--type f32|bf16] [--force]] [--json]"},
    {"spectrum", cli::cmdSpectrum, "spectrum MODEL_DIR [--layers REGEX] [--top-k K [--power-iterations Q]] [--no-cache] [--json]"},
    {"lowrank", cli::cmdLowRank, "lowrank MODEL_DIR --calib FILE (--energy E | --budget B | --ranks FILE.json) [--whiten]\n"
                                 "         [--layers REGEX] [--top-k K] [--text FILE] [--json]"},
    {"width", cli::cmdWidth, "width MODEL_DIR [--calib FILE] [--criterion taylor|activation|magnitude] --heads K --mlp M [--uniform] [--text FILE] [--out PLAN.json] [--json]"},
    {"speed", cli::cmdSpeed, "speed MODEL_DIR|PLAN.json [--drop 2,5] [--prompt-tokens 64] [--decode-tokens 32] [--repeats 3] [--threads N] [--json]"},
    {"generate", cli::cmdGenerate, "generate MODEL_DIR|PLAN.json --prompt S [--max-tokens N] [--temperature T --top-p P --seed S] [--drop 2,5] [--json]"},
    {"compress", cli::cmdCompress, "compress --plan PLAN.json (--out DIR|FILE.gguf | --dry-run) [--format hf|gguf] [--type TYPE] [--text FILE] [--task FILE.jsonl] [--force]\n"
                                   "         [--imatrix FILE.gguf] [--tensor-type REGEX=TYPE ...]   (GGUF types: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0\n"
                                   "          q2_k q3_k_s q3_k_m q3_k_l q4_k_s q4_k_m q5_k_s q5_k_m q6_k, as llama-quantize types each tensor)\n"
                                   "         [--heal-text FILE [--heal-steps N] [--heal-rank R] [--heal-alpha A] [--heal-lr LR]\n"
                                   "          [--heal-batch B] [--heal-accum K] [--kd-weight W] [--kd-temperature T]] [--json]"},
    {"tasks", cli::cmdTasks, "tasks MODEL_DIR --task FILE.jsonl [--drop 2,5] [--base BASE_DIR] [--max-items N] [--json]"},
    {"imatrix", cli::cmdImatrix, "imatrix MODEL_DIR --calib FILE --out FILE.gguf [--windows N] [--seq-len L] [--force] [--json]"},
};

void usage(FILE* to)
{
    std::fprintf(to, "usage: tailor-cli COMMAND ...\n");
    for (const auto& c : kCommands)
        std::fprintf(to, "  tailor-cli %s\n", c.usage);
}

} // namespace

int tailor::cli::run(const std::vector<std::string>& argv, std::string* errorLine)
{
    auto fail = [&](int code, const std::string& line) {
        std::fprintf(stderr, "%s\n", line.c_str());
        if (errorLine)
            *errorLine = line;
        return code;
    };
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        usage(argv.empty() ? stderr : stdout);
        return argv.empty() ? 2 : 0;
    }
    if (argv[0] == "--version") {
        std::printf("tailor-cli %s\n", TAILOR_VERSION); // CMakeLists.txt project(VERSION)
        return 0;
    }
    const Argv args(argv.begin() + 1, argv.end());
    for (const auto& c : kCommands) {
        if (argv[0] != c.name)
            continue;
        try {
            return c.run(args);
        } catch (const UsageError& e) {
            return fail(2, std::string("tailor-cli ") + c.name + ": " + e.what() + "\nusage: tailor-cli " + c.usage);
        } catch (const Cancelled&) {
            return fail(130, std::string("\ntailor-cli ") + c.name + ": cancelled");
        } catch (const std::exception& e) {
            return fail(1, std::string("\ntailor-cli ") + c.name + ": error: " + e.what());
        }
    }
    usage(stderr);
    return fail(2, "tailor-cli: unknown command '" + argv[0] + "'");
}
