#pragma once
// Every tailor-cli command as a row: its name, positionals, a one-line
// summary and every option it accepts with the option's value and help.
// The parser (Args) accepts exactly these options, and the usage line and
// `tailor-cli COMMAND --help` are printed from the same row, so the help
// cannot drift from what is parsed.
#include <string>
#include <vector>

namespace tailor::cli {

struct OptionSpec {
    const char* name;  // without the leading --
    const char* value; // what the value is ("FILE", "N"); nullptr for a flag
    const char* help;
};

struct CommandSpec {
    const char* name;    // "compress"; a second form of a command has the same name
    const char* operands; // positionals as written in the usage line ("MODEL_DIR|PLAN.json")
    const char* summary;
    std::vector<OptionSpec> options;

    std::string usage() const; // "compress --plan PLAN.json [--out DIR|FILE.gguf] ..."
    std::string help() const;  // the usage line, the summary and one line per option
};

// The rows, in the order `tailor-cli --help` lists them.
const std::vector<CommandSpec>& commandTable();
// The row `name` (the first form when there are several); throws std::logic_error when unknown.
const CommandSpec& commandSpec(const std::string& name, int form = 0);

} // namespace tailor::cli
