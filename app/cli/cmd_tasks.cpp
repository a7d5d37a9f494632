// tailor-cli tasks MODEL_DIR --task FILE.jsonl [--drop 2,5] [--base BASE_DIR] [--max-items N] [--json]
// Multiple-choice accuracy as lm-evaluation-harness measures it (core/eval/mc_tasks.h):
// acc and acc_norm with their standard errors; --base scores a base model on
// the same items too, for the drop in accuracy.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/eval/mc_tasks.h"
#include "core/model/model_session.h"

#include <QJsonObject>
#include <cstdio>

namespace tailor::cli {

namespace {
QJsonObject toJson(const McResult& r)
{
    return QJsonObject{{"items", double(r.items)}, {"acc", r.acc}, {"acc_stderr", r.acc_stderr}, {"acc_norm", r.acc_norm},
                       {"acc_norm_stderr", r.acc_norm_stderr}};
}
} // namespace

int cmdTasks(const Argv& argv)
{
    const Args args(argv, commandSpec("tasks"));
    const auto session = ModelSession::open(args.positional(0, "MODEL"));
    const std::string task = args.require("task");
    const std::vector<McItem> items = readTaskFile(task);
    McOptions o;
    o.drop_blocks = args.getBlockList("drop");
    o.max_items = args.getInt("max-items", 0);
    const McResult r = evaluateTask(session->model(), session->tokenizer(), items, o, task, progressPrinter(false));
    QJsonObject out = toJson(r);
    out["task"] = QString::fromStdString(task);
    if (args.has("base")) {
        const auto base = ModelSession::open(args.get("base"));
        McOptions bo;
        bo.max_items = o.max_items;
        out["base"] = toJson(evaluateTask(base->model(), base->tokenizer(), items, bo, task, progressPrinter(false)));
    }
    if (args.flag("json")) {
        printJson(out);
        return 0;
    }
    std::printf("%s: %lld items  acc %.4f ± %.4f  acc_norm %.4f ± %.4f\n", task.c_str(), (long long)r.items, r.acc, r.acc_stderr,
                r.acc_norm, r.acc_norm_stderr);
    if (out.contains("base")) {
        const QJsonObject b = out["base"].toObject();
        std::printf("base: acc %.4f ± %.4f  acc_norm %.4f ± %.4f\n", b["acc"].toDouble(), b["acc_stderr"].toDouble(),
                    b["acc_norm"].toDouble(), b["acc_norm_stderr"].toDouble());
    }
    return 0;
}

} // namespace tailor::cli
