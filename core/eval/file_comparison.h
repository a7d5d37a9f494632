#pragma once
// Several model files judged against one base on the user's own text (#28):
// "which of these GGUFs should I pick for my data and my RAM?". Each file is
// measured as `tailor-cli eval FILE --base BASE` measures it (its own
// tokenization of the text, KL divergence and top-1 agreement against the
// base on the same windows), and the table is sorted by size.
#include "core/eval/fidelity.h"
#include "core/util/progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tailor {

class ModelSession;

struct ComparedFile {
    std::string path;
    uint64_t file_bytes = 0;
    uint64_t weight_bytes = 0; // the tensors' bytes (the vocabulary and metadata left out)
    int64_t parameters = 0;
    double bpw = 0;            // weight bits per parameter
    double linear_bpw = 0;     // bits per weight of the blocks' weight matrices (the budget's measure)
    std::string main_type;     // the type most weight bytes are in ("Q4_K", "BF16")
    FidelityResult fidelity;   // ppl, base_ppl, KLD, top-1
};

struct FileComparisonOptions {
    int64_t seq_len = 256;
    int64_t max_windows = 0; // 0: every window
    int64_t batch_tokens = 2048;
    std::string text_label = "evaluation text";
    bool int8_products = false; // the files' block types on int8 GEMM (FidelityOptions::int8_products)
};

// `text`: the evaluation text's path. Files whose vocabulary differs from the
// base's are refused, naming the file. Sorted by file size, smallest first.
std::vector<ComparedFile> compareFiles(const ModelSession& base, const std::vector<std::string>& files, const std::string& text,
                                       const FileComparisonOptions& opt, const ProgressFn& progress = {});

// One file's row without the measurement: size, bpw and main type.
ComparedFile describeFile(const ModelSession& s);

} // namespace tailor
