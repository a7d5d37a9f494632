#pragma once
// Multiple-choice task accuracy the way lm-evaluation-harness measures it
// (#16): for each item, the log-likelihood of each choice's continuation given
// its context (the continuation's tokens are those the context + continuation
// encoding adds after the context's own encoding); `acc` picks the largest
// total, `acc_norm` the largest per character of the continuation; both with
// the sample standard error sqrt(p(1-p)/(n-1)).
//
// Task files are JSON Lines. Tailor's own format: {"context": S, "choices": [S...],
// "label": N}; also read as they are published: HellaSwag {"ctx", "endings",
// "label"}, PIQA {"goal", "sol1", "sol2", "label"}, ARC {"question", "choices":
// {"text", "label"}, "answerKey"}, WinoGrande {"sentence", "option1", "option2",
// "answer"} (partial scoring: the option fills the blank in the context, the
// rest of the sentence is the continuation).
#include "core/util/progress.h"

#include <string>
#include <vector>

namespace tailor {

class Model;
class Tokenizer;

struct McChoice {
    std::string context, continuation;
};

struct McItem {
    std::vector<McChoice> choices;
    int label = 0;
    int line = 0; // in the file, for messages
};

// Errors name the file and the line ("task.jsonl:7: ...").
std::vector<McItem> readTaskFile(const std::string& path);

struct McOptions {
    std::vector<int> drop_blocks;
    int64_t max_items = 0; // 0 = all
};

struct McResult {
    int64_t items = 0;
    double acc = 0, acc_stderr = 0, acc_norm = 0, acc_norm_stderr = 0;
    std::vector<std::vector<double>> loglik; // per item, per choice
};

McResult evaluateTask(const Model& model, const Tokenizer& tok, const std::vector<McItem>& items, const McOptions& opt,
                      const std::string& what, const ProgressFn& progress = {});

// Sum of log p(continuation tokens | context) for one pair (the building block, exposed for tests).
double continuationLogLikelihood(const Model& model, const std::vector<int32_t>& contextIds, const std::vector<int32_t>& wholeIds,
                                 const std::vector<int>& dropBlocks = {});

} // namespace tailor
