// tailor-cli eval MODEL_DIR --text FILE [--seq-len L] [--max-windows N] [--threads T]
//                           [--batch-tokens N] [--drop 2,5] [--json]
#include "cli_args.h"
#include <QJsonArray>
#include "cli_output.h"
#include "commands.h"
#include "core/model_session.h"
#include "core/result_json.h"

#include <cstdio>

namespace tailor::cli {

namespace {
const std::set<std::string> kEvalOptions = {"text", "seq-len", "max-windows", "threads", "batch-tokens"};
}

// Shared by `eval` and `drop`: the evaluation of a model without `drop` blocks.
int runEval(const Args& args, const std::vector<int>& drop)
{
    const auto session = ModelSession::open(args.positional(0, "MODEL_DIR"));
    const std::string text = args.require("text");
    const auto ids = session->tokenizeFile(text);
    EvalOptions opt;
    opt.text_label = text;
    opt.seq_len = args.getInt("seq-len", 256);
    opt.max_windows = args.getInt("max-windows", 0);
    opt.threads = int(args.getInt("threads", 0));
    opt.batch_tokens = args.getInt("batch-tokens", opt.batch_tokens);
    opt.drop_blocks = drop;
    const EvalResult r = evaluatePerplexity(session->model(), ids, opt, progressPrinter(false));
    if (args.flag("json")) {
        QJsonObject o = toJson(r);
        if (!drop.empty()) {
            QJsonArray d;
            for (int b : drop)
                d.append(b);
            o["drop_blocks"] = d;
        }
        printJson(o);
    } else {
        std::printf("ppl %.6f  nll %.4f  windows %lld x %lld  predicted tokens %lld  %.0f tokens/s\n", r.ppl, r.nll,
                    (long long)r.windows, (long long)r.seq_len, (long long)r.predicted_tokens, r.tokens_per_s);
    }
    return 0;
}

int cmdEval(const Argv& argv)
{
    auto options = kEvalOptions;
    options.insert("drop");
    const Args args(argv, options, {"json"});
    return runEval(args, args.getIntList("drop"));
}

int cmdDrop(const Argv& argv)
{
    auto options = kEvalOptions;
    options.insert("blocks");
    const Args args(argv, options, {"json"});
    const auto blocks = args.getIntList("blocks");
    if (blocks.empty())
        throw UsageError("--blocks needs at least one block index");
    return runEval(args, blocks);
}

} // namespace tailor::cli
