// tailor-cli blocks MODEL_DIR --calib FILE [--criterion ppl|taylor|bi|all] [--windows N] [--seq-len L]
//   [--random-windows --seed S] [--exclude 0,1,2,3,-2,-1|none] [--only-blocks A-B] [--suggest K [--iterative]]
//   [--out FILE] [--json]
// tailor-cli merge PART.json... [--out FILE]
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/util/atomic_file.h"
#include "core/analysis/block_importance.h"
#include "core/analysis/block_scan_json.h"
#include "core/util/error.h"
#include "core/model/model_session.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <cmath>
#include <cstdio>

namespace tailor::cli {

namespace {

void writeJsonFile(const std::string& path, const QJsonObject& o)
{
    writeFileAtomically(path, QJsonDocument(o).toJson());
}

std::pair<int, int> parseRange(const std::string& s, int n)
{
    const auto parts = parseBlockArg(s, "--only-blocks", n);
    if (parts.empty() || parts.back() - parts.front() + 1 != int(parts.size()))
        throw UsageError("--only-blocks " + s + " is not one range of blocks A-B");
    return {parts.front(), parts.back()};
}

void printTable(const BlockScanResult& r)
{
    std::printf("dense calibration PPL %.4f\n%5s", r.dense_ppl, "block");
    for (const auto& c : blockCriteria())
        std::printf(" %12s", c.key);
    std::printf("\n");
    for (const auto& b : r.blocks) {
        std::printf("%5d", b.index);
        for (const auto& c : blockCriteria())
            std::printf(" %12.5g", b.*c.score);
        std::printf(" %s\n", b.excluded ? "excluded" : "");
    }
}

} // namespace

int cmdBlocks(const Argv& argv)
{
    const Args args(argv, commandSpec("blocks"));
    const auto session = ModelSession::open(args.positional(0, "MODEL"));
    const int L = int(session->summary().n_layer);
    const std::string criterion = args.get("criterion", "all");
    BlockScanOptions opt;
    opt.threads = int(args.getInt("threads", 0));
    if (criterion != "all") {
        try {
            enableCriteria(opt, {criterionFromName(criterion)});
        } catch (const Error& e) {
            throw UsageError(std::string("--criterion: ") + e.what() + " or all");
        }
    }
    opt.excluded = parseBlockArg(args.get("exclude", kTaylorPlusExclusion), "--exclude", L);
    if (args.has("only-blocks"))
        std::tie(opt.only_from, opt.only_to) = parseRange(args.get("only-blocks"), L);
    CalibOptions co;
    co.windows = args.getInt("windows", 10);
    co.seq_len = args.getInt("seq-len", 128);
    co.random = args.flag("random-windows");
    co.seed = uint64_t(args.getInt("seed", 0));
    const std::string calibPath = args.require("calib");
    const TokenWindows calib = session->calibration(calibPath, co);

    const auto progress = progressPrinter(false);
    const BlockScanResult r = scanBlocks(session->model(), calib, opt, progress);
    const ScanFingerprint fp = scanFingerprint(*session, calib, opt);
    QJsonObject out = scanToJson(r, fp, opt.only_from, opt.only_to < 0 ? L - 1 : opt.only_to);
    for (const auto& m : r.warnings)
        std::fprintf(stderr, "warning: %s\n", m.c_str());
    if (args.has("suggest")) {
        const int k = int(args.getInt("suggest", 1));
        const Criterion c = criterion == "all" ? blockCriteria().front().id : criterionFromName(criterion);
        const auto pick = args.flag("iterative") ? suggestIterative(session->model(), calib, c, k, opt, progress)
                                                 : suggestOneShot(r, c, k);
        QJsonArray a;
        for (int b : pick)
            a.append(b);
        out["suggested"] = a;
        const DropSavings s = dropSavings(session->model(), pick);
        out["suggested_savings"] = QJsonObject{{"param_reduction", s.param_reduction}, {"flop_reduction", s.flop_reduction}};
    }
    if (args.has("out"))
        writeJsonFile(args.get("out"), out);
    if (args.flag("json"))
        printJson(out);
    else {
        printTable(r);
        if (out.contains("suggested"))
            std::printf("suggested blocks to drop: %s\n",
                        QJsonDocument(out.value("suggested").toArray()).toJson(QJsonDocument::Compact).constData());
    }
    return 0;
}

int cmdMerge(const Argv& argv)
{
    const Args args(argv, commandSpec("merge"));
    if (args.positional().empty())
        throw UsageError("give the shard files to merge");
    std::vector<QJsonObject> parts;
    for (const auto& p : args.positional()) {
        QJsonParseError err{};
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(readTextFile(p)), &err);
        if (err.error != QJsonParseError::NoError || !doc.isObject())
            throw Error(p + ": not a JSON block scan result");
        parts.push_back(doc.object());
    }
    const QJsonObject merged = mergeScanShards(parts, args.positional());
    if (args.has("out"))
        writeJsonFile(args.get("out"), merged);
    else
        printJson(merged);
    return 0;
}

} // namespace tailor::cli
