// tailor-cli generate MODEL --prompt S [--max-tokens N] [--temperature T --top-p P --seed S] [--drop 2,5] [--json]
// --max-tokens counts the positions the model runs, prompt (with BOS) included, as llama2.c's steps do.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/generate.h"
#include "core/model_session.h"

#include <QJsonArray>
#include <cstdio>

namespace tailor::cli {

int cmdGenerate(const Argv& argv)
{
    const Args args(argv, {"prompt", "max-tokens", "temperature", "top-p", "seed", "drop", "threads"}, {"json"});
    const auto session = ModelSession::open(args.positional(0, "MODEL_DIR"));
    GenerateOptions opt;
    opt.max_positions = int(args.getInt("max-tokens", 100));
    opt.temperature = args.getDouble("temperature", 0);
    opt.top_p = args.getDouble("top-p", 1.0);
    opt.seed = uint64_t(args.getInt("seed", 0));
    opt.drop_blocks = args.getIntList("drop");
    opt.threads = int(args.getInt("threads", 0));
    const GenerateResult r = generate(session->model(), session->tokenizer(), args.require("prompt"), opt, progressPrinter(true));
    if (args.flag("json")) {
        QJsonArray ids;
        for (auto id : r.ids)
            ids.append(id);
        printJson(QJsonObject{{"text", QString::fromStdString(r.text)},
                              {"ids", ids},
                              {"prompt_tokens", double(r.prompt_tokens)},
                              {"prefill_tokens_per_s", r.prefill_tokens_per_s},
                              {"decode_tokens_per_s", r.decode_tokens_per_s}});
    } else {
        std::printf("%s\n", r.text.c_str());
        std::fprintf(stderr, "prefill %.0f tokens/s, decode %.1f tokens/s\n", r.prefill_tokens_per_s, r.decode_tokens_per_s);
    }
    return 0;
}

} // namespace tailor::cli
