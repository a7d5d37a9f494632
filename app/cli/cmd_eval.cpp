// tailor-cli eval MODEL_DIR|PLAN.json --text FILE [--seq-len L] [--max-windows N] [--threads T]
//                           [--batch-tokens N] [--drop 2,5] [--base BASE_DIR|PLAN.json] [--json]
// --base adds the drift from a base model on the same windows (core/eval/fidelity.h):
// kld_mean, kld_median, kld_p99, kld_max, top1_agreement, base_ppl. A plan (either
// side) is applied first and its compressed model evaluated, so any pair compares:
// the original against a plan, a plan against another, a reopened export against either.
#include "cli_args.h"
#include <QJsonArray>
#include "cli_output.h"
#include "commands.h"
#include "core/compress/apply_plan.h"
#include "core/compress/compression_plan.h"
#include "core/util/error.h"
#include "core/eval/fidelity.h"
#include "core/model/model_session.h"
#include "core/tokenizer/tokenizer.h"
#include "core/eval/perplexity.h"
#include "core/util/token_windows.h"
#include "core/eval/result_json.h"

#include <QFileInfo>
#include <cstdio>
#include <optional>

namespace tailor::cli {

namespace {


// A model folder, or a plan file applied to its model.
struct Target {
    std::shared_ptr<ModelSession> session;
    std::shared_ptr<Model> applied; // the plan's compressed model
    std::vector<int> drop;
    const Model& model() const { return applied ? *applied : session->model(); }
};

Target openTarget(const std::string& path, const std::vector<int>& drop)
{
    Target t;
    if (!isPlanFile(path)) {
        t.session = ModelSession::open(path);
        t.drop = drop;
        return t;
    }
    if (!drop.empty())
        throw UsageError("--drop with a plan: the plan says which blocks to drop");
    const CompressionPlan plan = CompressionPlan::fromFile(path);
    t.session = ModelSession::open(plan.model);
    const AppliedPlan a = applyPlan(*t.session, plan, "", progressPrinter(false));
    t.applied = a.model;
    t.drop = a.drop_blocks;
    return t;
}
} // namespace

// Shared by `eval` and `drop`: the evaluation of a model without `drop` blocks.
int runEval(const Args& args, const std::vector<int>& dropIn)
{
    const Target target = openTarget(args.positional(0, "MODEL|PLAN.json"), dropIn);
    const auto& session = target.session;
    const std::vector<int>& drop = target.drop;
    const std::string text = args.require("text");
    const auto ids = session->tokenizeFile(text);
    EvalOptions opt;
    opt.text_label = text;
    opt.seq_len = args.getInt("seq-len", 256);
    opt.max_windows = args.getInt("max-windows", 0);
    opt.threads = int(args.getInt("threads", 0));
    opt.batch_tokens = args.getInt("batch-tokens", opt.batch_tokens);
    opt.drop_blocks = drop;
    opt.int8_products = args.flag("int8");
    // the base is opened and checked before any measurement: a wrong base fails at once
    std::optional<Target> base;
    if (args.has("base")) {
        base = openTarget(args.get("base"), {});
        // one tokenization for both (the model's): the same ids must mean the same tokens
        if (!sameVocabulary(base->session->tokenizer(), session->tokenizer()))
            throw Error(args.get("base") + ": its vocabulary differs from the model's: KL divergence needs the same token space");
    }
    const EvalResult r = evaluatePerplexity(target.model(), ids, opt, progressPrinter(false));
    std::optional<FidelityResult> fid;
    if (base) {
        FidelityOptions fo;
        fo.model_drop = drop;
        fo.base_drop = base->drop;
        fo.batch_tokens = opt.batch_tokens;
        fo.int8_products = opt.int8_products;
        fid = compareToBase(base->model(), target.model(), cutWindows(ids, opt.seq_len, opt.max_windows, text), fo,
                            progressPrinter(false));
    }
    if (args.flag("json")) {
        QJsonObject o = toJson(r);
        // which arithmetic gave these numbers: --int8 on a model without block types changes nothing
        o["int8_products"] = r.int8_linears > 0;
        o["int8_linears"] = r.int8_linears;
        if (fid) {
            o["kld_mean"] = fid->kld_mean;
            o["kld_median"] = fid->kld_median;
            o["kld_p99"] = fid->kld_p99;
            o["kld_max"] = fid->kld_max;
            o["top1_agreement"] = fid->top1_agreement;
            o["base_ppl"] = fid->base_ppl;
            o["kld_positions"] = double(fid->positions);
        }
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
        if (fid)
            std::printf("vs base (ppl %.6f): KLD mean %.6f  median %.6f  p99 %.6f  max %.6f  top-1 agreement %.4f%%\n",
                        fid->base_ppl, fid->kld_mean, fid->kld_median, fid->kld_p99, fid->kld_max, 100 * fid->top1_agreement);
    }
    return 0;
}

int cmdEval(const Argv& argv)
{
    const Args args(argv, commandSpec("eval"));
    return runEval(args, args.getBlockList("drop"));
}

int cmdDrop(const Argv& argv)
{
    const Args args(argv, commandSpec("drop"));
    const auto blocks = args.getBlockList("blocks");
    if (blocks.empty())
        throw UsageError("--blocks needs at least one block index");
    return runEval(args, blocks);
}

} // namespace tailor::cli
