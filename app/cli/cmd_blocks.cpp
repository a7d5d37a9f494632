// tailor-cli blocks MODEL_DIR --calib FILE [--criterion ppl|taylor|bi|all] [--windows N] [--seq-len L]
//   [--random-windows --seed S] [--exclude 0,1,2,3,-2,-1|none] [--only-blocks A-B] [--suggest K [--iterative]]
//   [--out FILE] [--json]
// tailor-cli merge PART.json... [--out FILE]
#include "cli_args.h"
#include "cli_output.h"
#include "commands.h"
#include "core/atomic_file.h"
#include "core/block_importance.h"
#include "core/block_scan_json.h"
#include "core/error.h"
#include "core/model_session.h"

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
    const auto dash = s.find('-', 1);
    const auto parts = dash == std::string::npos ? parseIntList(s, "--only-blocks")
                                                 : parseIntList(s.substr(0, dash) + "," + s.substr(dash + 1), "--only-blocks");
    const int a = parts.at(0), b = parts.size() > 1 ? parts[1] : parts[0];
    if (a < 0 || b >= n || a > b)
        throw Error("--only-blocks " + s + " is outside the model's blocks 0-" + std::to_string(n - 1));
    return {a, b};
}

void printTable(const BlockScanResult& r)
{
    std::printf("dense calibration PPL %.4f\n%5s %12s %12s %10s %s\n", r.dense_ppl, "block", "ppl_without", "taylor", "bi", "");
    for (const auto& b : r.blocks)
        std::printf("%5d %12.4f %12.4f %10.5f %s\n", b.index, b.ppl, b.taylor, b.bi, b.excluded ? "excluded" : "");
}

} // namespace

int cmdBlocks(const Argv& argv)
{
    const Args args(argv, {"calib", "criterion", "windows", "seq-len", "seed", "exclude", "only-blocks", "suggest", "out", "threads"},
                    {"json", "random-windows", "iterative"});
    const auto session = ModelSession::open(args.positional(0, "MODEL_DIR"));
    const int L = int(session->summary().n_layer);
    const std::string criterion = args.get("criterion", "all");
    BlockScanOptions opt;
    opt.threads = int(args.getInt("threads", 0));
    opt.ppl = criterion == "all" || criterion == "ppl";
    opt.taylor = criterion == "all" || criterion == "taylor";
    opt.bi = criterion == "all" || criterion == "bi";
    if (!opt.ppl && !opt.taylor && !opt.bi)
        throw UsageError("--criterion must be ppl, taylor, bi or all");
    const std::string ex = args.get("exclude", "0,1,2,3,-2,-1");
    if (ex != "none" && !ex.empty()) {
        opt.excluded = parseIntList(ex, "--exclude", L);
        for (int e : opt.excluded)
            if (e < 0 || e >= L)
                throw Error("--exclude: block " + std::to_string(e) + " is out of range (0-" + std::to_string(L - 1) + ")");
    }
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
    ScanFingerprint fp{session->dir(), session->summary().file_bytes, L, calib.count, calib.seq_len, hashIds(calib.ids), {}, opt.excluded, {}};
    for (const char* c : {"ppl", "taylor", "bi"})
        if ((std::string(c) == "ppl" && opt.ppl) || (std::string(c) == "taylor" && opt.taylor) || (std::string(c) == "bi" && opt.bi))
            fp.criteria.push_back(c);
    QJsonObject out = scanToJson(r, fp, opt.only_from, opt.only_to < 0 ? L - 1 : opt.only_to);
    for (const auto& m : r.warnings)
        std::fprintf(stderr, "warning: %s\n", m.c_str());
    if (args.has("suggest")) {
        const int k = int(args.getInt("suggest", 1));
        const Criterion c = criterionFromName(criterion == "all" ? "ppl" : criterion);
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
    const Args args(argv, {"out"}, {"json"});
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
