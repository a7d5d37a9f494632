#pragma once
// tailor-cli subcommands; each parses its own arguments and returns the exit code.
#include <string>
#include <vector>

namespace tailor::cli {

using Argv = std::vector<std::string>;

int cmdInfo(const Argv& args);
int cmdEval(const Argv& args);
int cmdTokenize(const Argv& args);
int cmdBlocks(const Argv& args);
int cmdDrop(const Argv& args);
int cmdMerge(const Argv& args);
int cmdQuant(const Argv& args);
int cmdQuantBudget(const Argv& args); // quant --target-bpw / --target-size
int cmdQat(const Argv& args);
int cmdSpectrum(const Argv& args);
int cmdLowRank(const Argv& args);
int cmdGenerate(const Argv& args);
int cmdCompress(const Argv& args);
int cmdImatrix(const Argv& args);
int cmdExperts(const Argv& args); // mixture of experts: routing statistics, expert pruning
int cmdTasks(const Argv& args);
int cmdSpeed(const Argv& args);
int cmdWidth(const Argv& args);
int cmdCompare(const Argv& args);
int cmdPlan(const Argv& args); // one size budget across depth, width and types

} // namespace tailor::cli
