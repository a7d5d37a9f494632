#include "cli_args.h"
#include "core/util/block_list.h"
#include "core/util/error.h"

#include <cstdlib>

namespace tailor::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
           const std::set<std::string>& flags)
{
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
            std::string key = a.substr(2), value;
            const auto eq = key.find('=');
            const bool inlineValue = eq != std::string::npos;
            if (inlineValue) {
                value = key.substr(eq + 1);
                key = key.substr(0, eq);
            }
            if (flags.count(key) && !inlineValue) {
                flags_.insert(key);
            } else if (options.count(key)) {
                if (!inlineValue) {
                    if (i + 1 >= argv.size())
                        throw UsageError("option --" + key + " needs a value");
                    value = argv[++i];
                }
                values_[key] = value;
                all_[key].push_back(value);
            } else {
                throw UsageError("unknown option --" + key);
            }
        } else {
            positional_.push_back(a);
        }
    }
}

namespace {
std::set<std::string> namesOf(const CommandSpec& spec, bool flags)
{
    std::set<std::string> out;
    for (const OptionSpec& o : spec.options)
        if ((o.value == nullptr) == flags)
            out.insert(o.name);
    return out;
}
} // namespace

Args::Args(const std::vector<std::string>& argv, const CommandSpec& spec) : Args(argv, namesOf(spec, false), namesOf(spec, true)) {}

std::string Args::positional(std::size_t i, const char* what) const
{
    if (i >= positional_.size())
        throw UsageError(std::string("missing ") + what);
    return positional_[i];
}

std::vector<std::string> Args::getAll(const std::string& key) const
{
    auto it = all_.find(key);
    return it == all_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> Args::getList(const std::string& key, const std::string& def) const
{
    const std::string list = get(key, def);
    std::vector<std::string> items;
    if (list.empty())
        return items;
    std::string item;
    for (std::size_t i = 0; i <= list.size(); ++i)
        if (i == list.size() || list[i] == ',') {
            items.push_back(item);
            item.clear();
        } else
            item += list[i];
    return items;
}

std::string Args::get(const std::string& key, const std::string& def) const
{
    auto it = values_.find(key);
    return it == values_.end() ? def : it->second;
}

std::string Args::require(const std::string& key) const
{
    auto it = values_.find(key);
    if (it == values_.end())
        throw UsageError("option --" + key + " is required");
    return it->second;
}

long long Args::getInt(const std::string& key, long long def) const
{
    auto it = values_.find(key);
    if (it == values_.end())
        return def;
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0')
        throw UsageError("option --" + key + " needs an integer, got '" + it->second + "'");
    return v;
}

double Args::getDouble(const std::string& key, double def) const
{
    auto it = values_.find(key);
    if (it == values_.end())
        return def;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0')
        throw UsageError("option --" + key + " needs a number, got '" + it->second + "'");
    return v;
}

std::vector<int> parseBlockArg(const std::string& text, const std::string& what, int n)
{
    try {
        return parseBlockList(text, n, what);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
}

std::vector<int> Args::getBlockList(const std::string& key, int n) const
{
    auto it = values_.find(key);
    if (it == values_.end())
        return {};
    return parseBlockArg(it->second, "--" + key, n);
}

} // namespace tailor::cli
