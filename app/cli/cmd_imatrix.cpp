// tailor-cli imatrix MODEL_DIR --calib FILE --out FILE.gguf [--windows N] [--seq-len L] [--force] [--json]
// The importance matrix of llama.cpp (per linear layer, per input column, the
// mean squared activation over the calibration tokens), saved in llama.cpp's
// imatrix GGUF format: llama-quantize --imatrix and tailor-cli compress
// --imatrix both take it.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/analysis/imatrix.h"
#include "core/model/model_session.h"

#include <QJsonObject>
#include <cstdio>

namespace tailor::cli {

int cmdImatrix(const Argv& argv)
{
    const Args args(argv, commandSpec("imatrix"));
    const std::string out = args.require("out");
    const auto session = ModelSession::open(args.positional(0, "MODEL"));
    CalibOptions co;
    co.windows = args.getInt("windows", 10);
    co.seq_len = args.getInt("seq-len", 512);
    const std::string calibPath = args.require("calib");
    const TokenWindows calib = session->calibration(calibPath, co);
    const Imatrix m = computeImatrix(session->model(), calib, calibPath, progressPrinter(false));
    writeImatrix(m, out, args.flag("force"));
    if (args.flag("json")) {
        printJson(QJsonObject{{"out", QString::fromStdString(out)}, {"entries", double(m.entries.size())},
                              {"chunks", double(m.chunkCount)}, {"chunk_size", double(m.chunkSize)},
                              {"tokens", double(calib.count * calib.seq_len)}});
        return 0;
    }
    std::printf("importance matrix of %zu layers from %lld windows of %lld tokens written to %s\n", m.entries.size(),
                (long long)calib.count, (long long)calib.seq_len, out.c_str());
    return 0;
}

} // namespace tailor::cli
