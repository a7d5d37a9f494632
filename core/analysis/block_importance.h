#pragma once
// Block importance for depth pruning (Shortened LLaMA, Kim et al. 2024; ShortGPT):
//  - PPL criterion: calibration perplexity with block i removed. The hidden
//    states entering each block are cached from one dense pass, so removing
//    block i re-runs only blocks i+1..L-1 (about half of L full passes).
//  - Taylor: sum over the block's parameters of |W * dL/dW| for the mean NLL of
//    all calibration windows, computed block by block (inputs stored, one
//    block's fp32 gradient alive at a time) so a 7B model never holds a
//    full-model gradient.
//  - Block Influence: 1 - mean over calibration tokens of cos(h_in, h_out).
// The "+" heuristic (first four and last two blocks are never candidates) is a
// setting, `excluded`, applied to every criterion.
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace tailor {

class Model;

struct BlockScanOptions {
    bool ppl = true, taylor = true, bi = true;
    std::vector<int> excluded;     // resolved indexes (see taylorPlusExcluded)
    std::vector<int> pre_dropped;  // scan the model without these (iterative suggestion)
    int only_from = 0, only_to = -1; // shard: score blocks [only_from, only_to]; -1 = last
    int threads = 0;
    int64_t batch_tokens = 2048;
    // Taylor is computed with one whole-graph backward for models whose fp32
    // copy is small, block by block otherwise; this forces block by block.
    bool taylor_blockwise = false;
    // Windows back-propagated together in the block-by-block pass; 0 = sized
    // from the model so one block's graph stays near 128 MB.
    int64_t taylor_chunk_windows = 0;
};

constexpr double kNotComputed = std::numeric_limits<double>::quiet_NaN();

struct BlockScore {
    int index = 0;
    double ppl = kNotComputed;    // calibration PPL without this block
    double taylor = kNotComputed;
    double bi = kNotComputed;
    bool excluded = false;
    bool computed = false;        // in this scan's shard
};

struct BlockScanResult {
    double dense_ppl = kNotComputed;
    std::vector<BlockScore> blocks;
    std::map<std::string, double> taylor_matrix; // per tensor, computed blocks only (+ globals)
    double seconds = 0;
    std::vector<std::string> warnings; // e.g. no block left as a pruning candidate
};

// Taylor+'s blocks never proposed for dropping, as a block list (negative
// indexes count from the end): the default of the GUI and the CLI.
constexpr const char* kTaylorPlusExclusion = "0,1,2,3,-2,-1";
// That list resolved for a model and clipped to it.
std::vector<int> taylorPlusExcluded(int nBlocks);

// `partial` (optional) receives the result so far after each finished block.
BlockScanResult scanBlocks(const Model& model, const TokenWindows& calib, const BlockScanOptions& opt,
                           const ProgressFn& progress = {},
                           const std::function<void(const BlockScanResult&)>& partial = {});

enum class Criterion { Ppl, Taylor, Bi };

// The block criteria as a table, one row each: the scan switches, the scores,
// the suggestions, the JSON and cache fingerprint, the CLI and the Blocks view
// all iterate it, so a new criterion is a new row (plus its scorer).
struct CriterionRow {
    Criterion id;
    const char* key;    // CLI, JSON, cache fingerprint
    const char* label;  // short name (checkbox, CLI column)
    const char* title;  // chart title, with how to read it
    // Direction: a block with a higher score is more important, so it is
    // dropped last (all three criteria read this way today).
    bool higher_is_important;
    // The scores are perplexities: shown on a log axis beside the dense PPL.
    bool is_perplexity;
    int decimals; // shown in tables
    double BlockScore::*score;
    bool BlockScanOptions::*enabled;
};
const std::vector<CriterionRow>& blockCriteria();
const CriterionRow& criterionRow(Criterion c);
Criterion criterionFromName(const std::string& name); // a row's key; the error lists them
const char* criterionName(Criterion c);                // the row's key
double scoreOf(const BlockScore& b, Criterion c);
// The keys of the criteria a scan computes (cache fingerprint, reports).
std::vector<std::string> enabledCriteria(const BlockScanOptions& opt);
// Switch the scan to exactly these criteria.
void enableCriteria(BlockScanOptions& opt, const std::vector<Criterion>& only);

// The k least important candidate blocks by one criterion (ascending score).
std::vector<int> suggestOneShot(const BlockScanResult& r, Criterion c, int k);
// Drop the least important, re-score the pruned model, repeat k times.
std::vector<int> suggestIterative(const Model& model, const TokenWindows& calib, Criterion c, int k,
                                  const BlockScanOptions& opt, const ProgressFn& progress = {});

// What dropping blocks saves: parameters and the share of per-token matmul
// FLOPs (block linears + lm_head; attention's T^2 term is left out).
struct DropSavings {
    int64_t parameters_before = 0, parameters_after = 0;
    double param_reduction = 0; // share of parameters removed
    double flop_reduction = 0;  // share of per-token FLOPs removed = expected latency reduction
};
DropSavings dropSavings(const Model& model, const std::vector<int>& drop);

} // namespace tailor
