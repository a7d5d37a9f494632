#include "scheme_args.h"

namespace tailor::cli {

QuantScheme schemeFromArgs(const Args& args)
{
    if (args.has("scheme"))
        return QuantScheme::parse(args.get("scheme"));
    if (args.flag("sym") && args.flag("asym"))
        throw UsageError("give --sym or --asym, not both");
    const std::string group = args.get("group", "32");
    std::string name = "int" + std::to_string(args.getInt("bits", 4)) + (args.flag("asym") ? "_asym_" : "_sym_") +
                       (group == "channel" || group == "tensor" ? group : "g" + group);
    const std::string clip = args.get("clip", "minmax");
    if (clip == "mse")
        name += "_mse";
    else if (clip != "minmax")
        throw UsageError("--clip must be minmax or mse");
    return QuantScheme::parse(name);
}


} // namespace tailor::cli
