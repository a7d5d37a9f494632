// tailor-cli speed MODEL_DIR|PLAN.json [--drop 2,5] [--prompt-tokens 64] [--decode-tokens 32] [--repeats 3] [--threads N]
//                 [--batch B] [--json]
// Prefill and batch-1 decode tokens/s on the decoder: medians over the repeats after a warm-up, with
// min and max, the weight and KV-cache bytes a token reads and the roofline (measured read bandwidth / bytes).
// With a plan (or --drop), the dense model is measured too, and the measured decode speed-up is put
// beside the one the bytes predict. --batch B adds generation throughput at batch B (B sequences
// prefilled and decoded together; tokens/s summed over them).
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/compress/apply_plan.h"
#include "core/decode/batch_throughput.h"
#include "core/decode/decode_speed.h"
#include "core/model/model_session.h"

#include <QFileInfo>
#include <QJsonArray>
#include <cstdio>
#include <optional>

namespace tailor::cli {

namespace {
QJsonObject stats(const SpeedStats& v)
{
    return QJsonObject{{"median", v.median}, {"min", v.min}, {"max", v.max}, {"runs", v.runs}};
}

QJsonObject toJson(const DecodeSpeed& s)
{
    return QJsonObject{{"prefill_tokens_per_s", stats(s.prefill)},
                       {"decode_tokens_per_s", stats(s.decode)},
                       {"weight_bytes_per_token", double(s.weight_bytes_per_token)},
                       {"kv_bytes_per_token", double(s.kv_bytes_per_token)},
                       {"read_bandwidth_bytes_per_s", s.read_bandwidth},
                       {"roofline_tokens_per_s", s.roofline_tokens_per_s},
                       {"kept_blocks", s.kept_blocks},
                       {"threads", s.threads}};
}

QJsonObject toJson(const BatchThroughput& b)
{
    return QJsonObject{{"batch", double(b.batch)},
                       {"prefill_tokens_per_s", stats(b.prefill)},
                       {"decode_tokens_per_s", stats(b.decode)},
                       {"weights_widened_once", b.weights_widened_once},
                       {"int8_products", b.int8_products},
                       {"threads", b.threads}};
}

void print(const char* label, const BatchThroughput& b)
{
    std::printf("%-10s batch %lld: decode %s tokens/s, prefill %s tokens/s, summed over the sequences\n", label, (long long)b.batch,
                speedRange(b.decode, 1).c_str(), speedRange(b.prefill, 0).c_str());
}

void print(const char* label, const DecodeSpeed& s)
{
    std::printf("%-10s %s\n", label, describeSpeed(s).c_str());
}
} // namespace

int cmdSpeed(const Argv& argv)
{
    const Args args(argv, commandSpec("speed"));
    const std::string target = args.positional(0, "MODEL|PLAN.json");
    std::optional<CompressionPlan> plan;
    if (isPlanFile(target))
        plan = CompressionPlan::fromFile(target);
    const auto session = ModelSession::open(plan ? plan->model : target);
    DecodeSpeedOptions so;
    so.prompt_tokens = args.getInt("prompt-tokens", 64);
    so.decode_tokens = args.getInt("decode-tokens", 32);
    so.repeats = int(args.getInt("repeats", 3));
    so.threads = int(args.getInt("threads", 0));
    std::vector<int> drop = args.getBlockList("drop");
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
    const int64_t batch = args.getInt("batch", 0);
    if (batch < 0 || batch > 256)
        throw UsageError("--batch " + std::to_string(batch) + ": give a batch between 1 and 256");
    std::optional<BatchThroughput> denseBatch, cutBatch;
    if (batch > 0) {
        BatchThroughputOptions bo = batchOptions(so, batch);
        denseBatch = measureBatchThroughput(session->model(), bo, progressPrinter(args.flag("json")));
        if (compare) {
            bo.drop_blocks = drop;
            cutBatch = measureBatchThroughput(compressed ? *compressed : session->model(), bo, progressPrinter(args.flag("json")));
        }
    }
    const double predicted = cut ? double(dense.bytesPerToken()) / double(cut->bytesPerToken()) : 1;
    const double measured = cut ? cut->decode.median / dense.decode.median : 1;
    if (args.flag("json")) {
        QJsonObject out{{"dense", toJson(dense)}};
        if (cut) {
            out["compressed"] = toJson(*cut);
            out["decode_speedup_measured"] = measured;
            out["decode_speedup_predicted_from_bytes"] = predicted;
        }
        if (denseBatch) {
            out["dense_batch"] = toJson(*denseBatch);
            if (cutBatch) {
                out["compressed_batch"] = toJson(*cutBatch);
                out["batch_decode_speedup_measured"] = cutBatch->decode.median / denseBatch->decode.median;
            }
        }
        printJson(out);
    } else {
        print("dense", dense);
        if (cut) {
            print(plan ? "compressed" : "dropped", *cut);
            std::printf("decode speed-up: measured %.3f, predicted from the bytes read %.3f\n", measured, predicted);
        }
        if (denseBatch)
            print("dense", *denseBatch);
        if (cutBatch) {
            print(plan ? "compressed" : "dropped", *cutBatch);
            std::printf("batch-%lld decode speed-up: measured %.3f\n", (long long)batch, cutBatch->decode.median / denseBatch->decode.median);
        }
    }
    return 0;
}

} // namespace tailor::cli
