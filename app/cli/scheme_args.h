#pragma once
// A quantization scheme from the command line: --scheme NAME, or --bits B
// --group G|channel|tensor (--sym|--asym) [--clip minmax|mse]. Shared by quant and qat.
#include "cli_args.h"
#include "core/quant/quant_scheme.h"

namespace tailor::cli {

QuantScheme schemeFromArgs(const Args& args);

} // namespace tailor::cli
