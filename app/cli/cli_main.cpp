// The tailor-cli dispatcher: finds the command, runs it, and turns every
// exception into one line on stderr and an exit code (1 error, 2 usage, 130
// cancelled). A library so the bad-input campaigns can run thousands of
// commands in one process (tests/core/test_bad_input.cpp).
#include "cli_main.h"
#include "cli_args.h"
#include "command_table.h"
#include "cli_output.h"
#include "commands.h"
#include "core/util/error.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

using namespace tailor;

namespace {

struct Command {
    const char* name;
    int (*run)(const cli::Argv&);
};

// What runs each command; what it accepts is its row in command_table.cpp.
const Command kCommands[] = {
    {"info", cli::cmdInfo},         {"eval", cli::cmdEval},         {"tokenize", cli::cmdTokenize}, {"blocks", cli::cmdBlocks},
    {"drop", cli::cmdDrop},         {"merge", cli::cmdMerge},       {"quant", cli::cmdQuant},       {"qat", cli::cmdQat},
    {"spectrum", cli::cmdSpectrum}, {"lowrank", cli::cmdLowRank},   {"width", cli::cmdWidth},       {"speed", cli::cmdSpeed},
    {"generate", cli::cmdGenerate}, {"compress", cli::cmdCompress}, {"plan", cli::cmdPlan}, {"tasks", cli::cmdTasks},       {"imatrix", cli::cmdImatrix},
    {"experts", cli::cmdExperts},
    {"compare", cli::cmdCompare},
};

void usage(FILE* to)
{
    std::fprintf(to, "usage: tailor-cli COMMAND ... [--quiet]   ('tailor-cli COMMAND --help' lists a command's options;\n"
                     "       --quiet: no progress on stderr, which is a bar on a terminal and plain lines elsewhere)\n"
                     "  MODEL: a Hugging Face folder (config.json, *.safetensors, tokenizer.json) or a .gguf file\n");
    for (const auto& c : cli::commandTable())
        std::fprintf(to, "  tailor-cli %-9s %-24s %s\n", c.name, c.operands, c.summary);
}

// Every form of a command: its usage lines, or its full help.
std::string describe(const std::string& name, bool full)
{
    std::string s;
    for (const auto& c : cli::commandTable())
        if (name == c.name)
            s += full ? c.help() : (s.empty() ? "usage: tailor-cli " : "       tailor-cli ") + c.usage() + "\n";
    return s;
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
    // --quiet belongs to every command: no progress on stderr
    Argv args;
    bool quiet = false;
    for (auto it = argv.begin() + 1; it != argv.end(); ++it) {
        if (*it == "--quiet")
            quiet = true;
        else
            args.push_back(*it);
    }
    cli::setQuiet(quiet);
    for (const auto& c : kCommands) {
        if (argv[0] != c.name)
            continue;
        if (std::find(args.begin(), args.end(), "--help") != args.end() || (!args.empty() && args[0] == "-h")) {
            std::fputs(describe(c.name, true).c_str(), stdout);
            return 0;
        }
        try {
            const int code = c.run(args);
            cli::flushProgress(code == 0);
            return code;
        } catch (const UsageError& e) {
            cli::flushProgress(false);
            return fail(2, std::string("tailor-cli ") + c.name + ": " + e.what() + "\n" + describe(c.name, false));
        } catch (const Cancelled&) {
            cli::flushProgress(false);
            return fail(130, std::string("\ntailor-cli ") + c.name + ": cancelled");
        } catch (const std::exception& e) {
            cli::flushProgress(false);
            return fail(1, std::string("\ntailor-cli ") + c.name + ": error: " + e.what());
        }
    }
    usage(stderr);
    return fail(2, "tailor-cli: unknown command '" + argv[0] + "'");
}
