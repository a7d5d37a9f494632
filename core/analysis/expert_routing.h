#pragma once
// Routing statistics of a mixture-of-experts model (#30): per block, how often
// each expert is chosen on the calibration text, the router's mean softmax
// weight, and REAP's router-weighted contribution (Lasby et al. 2025: over the
// tokens routed to an expert, the mean of gate weight × ‖expert output‖₂).
// These say which experts a pruned model can lose (core/compress/expert_prune.h).
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <QJsonObject>

#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

class Model;

struct ExpertRouting {
    int64_t blocks = 0, experts = 0, used = 0; // used: experts a token goes to (top k)
    int64_t tokens = 0;                        // calibration tokens routed through each block
    std::vector<std::vector<int64_t>> count;   // [block][expert] times chosen
    std::vector<std::vector<double>> mean_prob; // [block][expert] mean router softmax over all tokens
    std::vector<std::vector<double>> reap;      // [block][expert] mean gate weight × ‖output‖ over its tokens (0 if none)

    // Share of tokens that chose the expert (0..1; the shares of a block sum to `used`).
    double frequency(int b, int e) const { return tokens ? double(count[b][e]) / double(tokens) : 0.0; }
    // Experts of block b no token chose.
    std::vector<int> neverChosen(int b) const;

    QJsonObject toJson() const;
};

// Runs the windows through the model block by block (no gradients). Refuses a
// dense model by name.
ExpertRouting measureRouting(const Model& model, const TokenWindows& calib, const ProgressFn& progress = {});

enum class ExpertCriterion { Frequency, Reap };
// "freq" | "reap"; throws naming the choices.
ExpertCriterion expertCriterionFromName(const std::string& name);
const char* expertCriterionName(ExpertCriterion c);

// Per block, the `keep` experts with the highest score by the criterion (ties
// to the lower index), in increasing index order; `mostUsed == false` keeps the
// least used instead (the control arm of the tests and the docs table).
std::vector<std::vector<int>> expertsToKeep(const ExpertRouting& r, int64_t keep, ExpertCriterion c, bool keepMostUsed = true);

} // namespace tailor
