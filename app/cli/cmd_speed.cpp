// tailor-cli speed MODEL_DIR|PLAN.json [--drop 2,5] [--prompt-tokens 64] [--decode-tokens 32] [--repeats 3] [--threads N] [--json]
// Prefill and batch-1 decode tokens/s on the decoder: medians over the repeats after a warm-up, with
// min and max, the weight bytes a token reads and the roofline (measured read bandwidth / bytes).
// With a plan (or --drop), the dense model is measured too, and the measured decode speed-up is put
// beside the one the bytes predict.
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/compress/apply_plan.h"
#include "core/decode/decode_speed.h"
#include "core/model_session.h"

#include <QFileInfo>
#include <QJsonArray>
#include <cstdio>
#include <optional>

namespace tailor::cli {

namespace {
QJsonObject toJson(const DecodeSpeed& s)
{
    const auto stats = [](const SpeedStats& v) {
        return QJsonObject{{"median", v.median}, {"min", v.min}, {"max", v.max}, {"runs", v.runs}};
    };
    return QJsonObject{{"prefill_tokens_per_s", stats(s.prefill)},
                       {"decode_tokens_per_s", stats(s.decode)},
                       {"weight_bytes_per_token", double(s.weight_bytes_per_token)},
                       {"read_bandwidth_bytes_per_s", s.read_bandwidth},
                       {"roofline_tokens_per_s", s.roofline_tokens_per_s},
                       {"kept_blocks", s.kept_blocks},
                       {"threads", s.threads}};
}

void print(const char* label, const DecodeSpeed& s)
{
    std::printf("%-10s decode %.2f tokens/s (%.2f-%.2f, %d runs), prefill %.1f tokens/s (%.1f-%.1f); %d blocks, %.1f MB of weights a "
                "token; roofline %.2f tokens/s at %.1f GB/s; %d threads\n",
                label, s.decode.median, s.decode.min, s.decode.max, s.decode.runs, s.prefill.median, s.prefill.min, s.prefill.max,
                s.kept_blocks, double(s.weight_bytes_per_token) / 1e6, s.roofline_tokens_per_s, s.read_bandwidth / 1e9, s.threads);
}
} // namespace

int cmdSpeed(const Argv& argv)
{
    const Args args(argv, {"drop", "prompt-tokens", "decode-tokens", "repeats", "threads"}, {"json"});
    const std::string target = args.positional(0, "MODEL_DIR|PLAN.json");
    std::optional<CompressionPlan> plan;
    if (QFileInfo(QString::fromStdString(target)).isFile())
        plan = CompressionPlan::fromFile(target);
    const auto session = ModelSession::open(plan ? plan->model : target);
    DecodeSpeedOptions so;
    so.prompt_tokens = args.getInt("prompt-tokens", 64);
    so.decode_tokens = args.getInt("decode-tokens", 32);
    so.repeats = int(args.getInt("repeats", 3));
    so.threads = int(args.getInt("threads", 0));
    std::vector<int> drop = args.getIntList("drop");
    if (plan && !drop.empty())
        throw UsageError("--drop with a plan: the plan says which blocks to drop");
    std::shared_ptr<Model> compressed;
    if (plan) {
        const AppliedPlan a = applyPlan(*session, *plan, "", progressPrinter(args.flag("json")));
        compressed = a.model;
        drop = a.drop_blocks;
    }
    const bool compare = plan || !drop.empty();
    const DecodeSpeed dense = measureDecodeSpeed(session->model(), so, progressPrinter(args.flag("json")));
    std::optional<DecodeSpeed> cut;
    if (compare) {
        DecodeSpeedOptions co = so;
        co.drop_blocks = drop;
        cut = measureDecodeSpeed(compressed ? *compressed : session->model(), co, progressPrinter(args.flag("json")));
    }
    const double predicted = cut ? double(dense.weight_bytes_per_token) / double(cut->weight_bytes_per_token) : 1;
    const double measured = cut ? cut->decode.median / dense.decode.median : 1;
    if (args.flag("json")) {
        QJsonObject out{{"dense", toJson(dense)}};
        if (cut) {
            out["compressed"] = toJson(*cut);
            out["decode_speedup_measured"] = measured;
            out["decode_speedup_predicted_from_bytes"] = predicted;
        }
        printJson(out);
    } else {
        print("dense", dense);
        if (cut) {
            print(plan ? "compressed" : "dropped", *cut);
            std::printf("decode speed-up: measured %.3f, predicted from the bytes read %.3f\n", measured, predicted);
        }
    }
    return 0;
}

} // namespace tailor::cli
