#pragma once
// JSON form of a block scan, as `tailor-cli blocks --json` prints it, as the
// GUI caches it and as shards are merged:
// {"dense_ppl": x, "blocks": [{"index", "ppl", "taylor", "bi", "excluded"}...],
//  "fingerprint": {...model, calibration and settings...}, "only_blocks": [a, b]}
// Scores not computed are null.
#include "block_importance.h"

#include <QJsonObject>
#include <string>
#include <vector>

namespace tailor {

// What a scan depends on; shards must agree on it to be merged.
struct ScanFingerprint {
    std::string model_dir;
    uint64_t model_bytes = 0;
    int n_layer = 0;
    int64_t windows = 0, seq_len = 0;
    std::string calib_hash; // of the calibration ids
    std::vector<std::string> criteria;
    std::vector<int> excluded;
    std::vector<int> pre_dropped;
};

std::string hashIds(const std::vector<int64_t>& ids);

class ModelSession;
// What a scan of the session's model on these windows with these options
// depends on: built here once for the GUI's result cache and the CLI's shards.
ScanFingerprint scanFingerprint(const ModelSession& session, const TokenWindows& calib, const BlockScanOptions& opt);

QJsonObject scanToJson(const BlockScanResult& r, const ScanFingerprint& fp, int onlyFrom, int onlyTo);
BlockScanResult scanFromJson(const QJsonObject& o, ScanFingerprint* fp, int* onlyFrom, int* onlyTo);
QJsonObject fingerprintToJson(const ScanFingerprint& fp);

// Combines shard results into the full result; refuses shards of other
// models or settings, overlapping shards and missing blocks. `names` label the
// parts in errors.
QJsonObject mergeScanShards(const std::vector<QJsonObject>& parts, const std::vector<std::string>& names);

} // namespace tailor
