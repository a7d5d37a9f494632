#include "block_scan_json.h"
#include "core/util/compute_threads.h"
#include "core/util/error.h"
#include "core/eval/result_json.h"
#include "core/model/model_session.h"

#include <QCryptographicHash>
#include <QJsonArray>

namespace tailor {

namespace {

double fromNum(const QJsonValue& v) { return v.isDouble() ? v.toDouble() : kNotComputed; }

QJsonArray intArray(const std::vector<int>& v)
{
    QJsonArray a;
    for (int x : v)
        a.append(x);
    return a;
}

std::vector<int> intsFrom(const QJsonValue& v)
{
    std::vector<int> out;
    for (const auto& x : v.toArray())
        out.push_back(x.toInt());
    return out;
}

} // namespace

std::string hashIds(const std::vector<int64_t>& ids)
{
    return QCryptographicHash::hash(QByteArray(reinterpret_cast<const char*>(ids.data()), qsizetype(ids.size() * 8)),
                                    QCryptographicHash::Sha1)
        .toHex()
        .toStdString();
}

ScanFingerprint scanFingerprint(const ModelSession& session, const TokenWindows& calib, const BlockScanOptions& opt)
{
    const ModelSummary& m = session.summary();
    return ScanFingerprint{session.dir(), m.file_bytes, int(m.n_layer), calib.count, calib.seq_len, hashIds(calib.ids),
                           enabledCriteria(opt), opt.excluded, opt.pre_dropped};
}

QJsonObject fingerprintToJson(const ScanFingerprint& fp)
{
    QJsonArray crit;
    for (const auto& c : fp.criteria)
        crit.append(QString::fromStdString(c));
    return QJsonObject{{"model_dir", QString::fromStdString(fp.model_dir)},
                       {"model_bytes", double(fp.model_bytes)},
                       {"n_layer", fp.n_layer},
                       {"windows", double(fp.windows)},
                       {"seq_len", double(fp.seq_len)},
                       {"calib_hash", QString::fromStdString(fp.calib_hash)},
                       {"criteria", crit},
                       {"excluded", intArray(fp.excluded)},
                       {"pre_dropped", intArray(fp.pre_dropped)}};
}

QJsonObject scanToJson(const BlockScanResult& r, const ScanFingerprint& fp, int onlyFrom, int onlyTo)
{
    QJsonArray blocks;
    for (const auto& b : r.blocks) {
        QJsonObject o{{"index", b.index}, {"excluded", b.excluded}, {"computed", b.computed}};
        for (const auto& c : blockCriteria())
            o[c.key] = jsonNumber(b.*c.score);
        blocks.append(o);
    }
    QJsonObject matrices;
    for (const auto& [name, v] : r.taylor_matrix)
        matrices[QString::fromStdString(name)] = v;
    QJsonObject o{{"dense_ppl", jsonNumber(r.dense_ppl)},
                  {"blocks", blocks},
                  {"taylor_matrix", matrices},
                  {"seconds", r.seconds},
                  {"fingerprint", fingerprintToJson(fp)},
                  {"only_blocks", QJsonArray{onlyFrom, onlyTo}}};
    if (!r.warnings.empty()) {
        QJsonArray w;
        for (const auto& m : r.warnings)
            w.append(QString::fromStdString(m));
        o["warnings"] = w;
    }
    return o;
}

BlockScanResult scanFromJson(const QJsonObject& o, ScanFingerprint* fp, int* onlyFrom, int* onlyTo)
{
    BlockScanResult r;
    r.dense_ppl = fromNum(o.value("dense_ppl"));
    r.seconds = o.value("seconds").toDouble();
    for (const auto& v : o.value("blocks").toArray()) {
        const QJsonObject b = v.toObject();
        BlockScore s;
        s.index = b.value("index").toInt();
        for (const auto& c : blockCriteria())
            s.*c.score = fromNum(b.value(c.key));
        s.excluded = b.value("excluded").toBool();
        s.computed = b.value("computed").toBool(true);
        r.blocks.push_back(s);
    }
    const QJsonObject m = o.value("taylor_matrix").toObject();
    for (auto it = m.begin(); it != m.end(); ++it)
        r.taylor_matrix[it.key().toStdString()] = it.value().toDouble();
    if (fp) {
        const QJsonObject f = o.value("fingerprint").toObject();
        fp->model_dir = f.value("model_dir").toString().toStdString();
        fp->model_bytes = uint64_t(f.value("model_bytes").toDouble());
        fp->n_layer = f.value("n_layer").toInt();
        fp->windows = int64_t(f.value("windows").toDouble());
        fp->seq_len = int64_t(f.value("seq_len").toDouble());
        fp->calib_hash = f.value("calib_hash").toString().toStdString();
        for (const auto& c : f.value("criteria").toArray())
            fp->criteria.push_back(c.toString().toStdString());
        fp->excluded = intsFrom(f.value("excluded"));
        fp->pre_dropped = intsFrom(f.value("pre_dropped"));
    }
    const QJsonArray only = o.value("only_blocks").toArray();
    if (onlyFrom)
        *onlyFrom = only.size() == 2 ? only[0].toInt() : 0;
    if (onlyTo)
        *onlyTo = only.size() == 2 ? only[1].toInt() : int(r.blocks.size()) - 1;
    return r;
}

QJsonObject mergeScanShards(const std::vector<QJsonObject>& parts, const std::vector<std::string>& names)
{
    if (parts.empty())
        throw Error("merge: no shard files given");
    ScanFingerprint first;
    int f0 = 0, t0 = 0;
    BlockScanResult merged = scanFromJson(parts[0], &first, &f0, &t0);
    if (first.n_layer <= 0 || int(merged.blocks.size()) != first.n_layer)
        throw Error(names[0] + ": not a block scan result");
    const QJsonObject fpJson = fingerprintToJson(first);
    std::vector<int> owner(first.n_layer, -1);
    for (std::size_t p = 0; p < parts.size(); ++p) {
        ScanFingerprint fp;
        int from = 0, to = 0;
        const BlockScanResult r = scanFromJson(parts[p], &fp, &from, &to);
        if (fingerprintToJson(fp) != fpJson)
            throw Error(names[p] + ": comes from another model, calibration text or settings than " + names[0]);
        if (from < 0 || to >= first.n_layer || from > to)
            throw Error(names[p] + ": block range " + std::to_string(from) + "-" + std::to_string(to) + " is invalid");
        // Shards may run on different thread counts (they follow the machine's
        // load): equal up to the reordering of sums is the same engine and data.
        if (!(std::abs(r.dense_ppl - merged.dense_ppl) <= kThreadCountRelTolerance * std::abs(merged.dense_ppl)) &&
            !(std::isnan(r.dense_ppl) && std::isnan(merged.dense_ppl)))
            throw Error(names[p] + ": dense perplexity differs from " + names[0] + " (different engine or data)");
        for (int i = from; i <= to; ++i) {
            if (owner[i] >= 0)
                throw Error(names[p] + ": block " + std::to_string(i) + " is also in " + names[std::size_t(owner[i])] +
                            " (overlapping shards)");
            owner[i] = int(p);
            merged.blocks[i] = r.blocks[i];
        }
        for (const auto& [name, v] : r.taylor_matrix)
            merged.taylor_matrix[name] = v;
        merged.seconds = std::max(merged.seconds, r.seconds);
    }
    for (int i = 0; i < first.n_layer; ++i)
        if (owner[i] < 0)
            throw Error("merge: block " + std::to_string(i) + " is in no shard (missing shard)");
    return scanToJson(merged, first, 0, first.n_layer - 1);
}

} // namespace tailor
