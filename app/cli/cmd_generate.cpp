// tailor-cli generate MODEL_DIR|PLAN.json --prompt S [--max-tokens N] [--temperature T --top-p P --seed S] [--drop 2,5] [--json]
// With a plan, the plan is applied first (drop, low rank, heal, quantize) and the compressed model generates.
// --max-tokens counts the positions the model runs, prompt (with BOS) included, as llama2.c's steps do.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/compress/apply_plan.h"
#include "core/decode/generate.h"
#include "core/model/model_session.h"

#include <QFileInfo>
#include <QJsonArray>
#include <optional>
#include <cstdio>

namespace tailor::cli {

int cmdGenerate(const Argv& argv)
{
    const Args args(argv, commandSpec("generate"));
    const std::string target = args.positional(0, "MODEL|PLAN.json");
    const bool isPlan = isPlanFile(target);
    std::optional<CompressionPlan> plan;
    if (isPlan)
        plan = CompressionPlan::fromFile(target);
    const auto session = ModelSession::open(plan ? plan->model : target);
    std::shared_ptr<Model> compressed;
    std::vector<int> planDrop;
    if (plan) {
        const AppliedPlan a = applyPlan(*session, *plan, "", progressPrinter(true));
        compressed = a.model;
        planDrop = a.drop_blocks;
    }
    GenerateOptions opt;
    opt.max_positions = int(args.getInt("max-tokens", 100));
    opt.temperature = args.getDouble("temperature", 0);
    opt.top_p = args.getDouble("top-p", 1.0);
    opt.seed = uint64_t(args.getInt("seed", 0));
    opt.drop_blocks = args.getBlockList("drop");
    if (plan && !opt.drop_blocks.empty())
        throw UsageError("--drop with a plan: the plan says which blocks to drop");
    if (plan)
        opt.drop_blocks = planDrop;
    opt.threads = int(args.getInt("threads", 0));
    const GenerateResult r = generate(compressed ? *compressed : session->model(), session->tokenizer(), args.require("prompt"), opt, progressPrinter(true));
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
