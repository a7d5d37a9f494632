#pragma once
// Runs one tailor-cli command line (without the program name): the exit code,
// and the one-line error also printed on stderr (when errorLine is given).
#include <string>
#include <vector>

namespace tailor::cli {

int run(const std::vector<std::string>& argv, std::string* errorLine = nullptr);

} // namespace tailor::cli
