#pragma once
// Minimal argument parsing for tailor-cli subcommands: positionals, `--key
// value` options and `--flag`s; anything not declared is a usage error.
#include "command_table.h"

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace tailor::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Args {
public:
    // `options` take a value, `flags` do not (both without the leading --).
    Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
         const std::set<std::string>& flags);
    // The options of a command's row in the command table (command_table.h).
    Args(const std::vector<std::string>& argv, const CommandSpec& spec);

    const std::vector<std::string>& positional() const { return positional_; }
    std::string positional(std::size_t i, const char* what) const;
    bool has(const std::string& key) const { return values_.count(key) || flags_.count(key); }
    bool flag(const std::string& key) const { return flags_.count(key) > 0; }
    std::string get(const std::string& key, const std::string& def = "") const; // the last one when repeated
    std::vector<std::string> getAll(const std::string& key) const;                // every occurrence, in order
    // "a,b,,c" -> {"a", "b", "", "c"} (empty items kept: each caller decides
    // what one means); `def` when the option is absent.
    std::vector<std::string> getList(const std::string& key, const std::string& def = "") const;
    std::string require(const std::string& key) const;
    long long getInt(const std::string& key, long long def) const;
    double getDouble(const std::string& key, double def) const;
    // A block list, "2, 5-7, -1" (core/util/block_list.h); negative indexes
    // count from n when n > 0. Errors are usage errors naming the option.
    std::vector<int> getBlockList(const std::string& key, int n = 0) const;

private:
    std::vector<std::string> positional_;
    std::map<std::string, std::string> values_;
    std::map<std::string, std::vector<std::string>> all_;
    std::set<std::string> flags_;
};

std::vector<int> parseBlockArg(const std::string& text, const std::string& what, int n = 0);

} // namespace tailor::cli
