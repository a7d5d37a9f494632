#pragma once
// The importance matrix of llama.cpp (tools/imatrix): for every linear layer
// of every block, per input column, the sum of the squared activations that
// entered it over the calibration tokens, and the number of tokens. Its
// quantizers take the mean (sum / count, in float, as llama-quantize divides)
// as the weight of each column. Saved and read in llama.cpp's imatrix GGUF
// format: general.type = "imatrix", imatrix.datasets / chunk_count /
// chunk_size, and per layer "<tensor>.in_sum2" [cols, n] and "<tensor>.counts"
// [1, n], F32, names sorted (common/imatrix-loader.cpp reads it); n = 1 for a
// dense layer, the expert count for a mixture's stacked experts (#30: each
// expert's sums over the tokens routed to it, and its own count).
#include "core/util/progress.h"
#include "core/util/token_windows.h"

#include <map>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace tailor {

class Model;

struct ImatrixEntry {
    std::vector<float> sums;   // Σ x_j² over tokens, per input column (expert after expert)
    std::vector<float> counts; // tokens, per matrix (one for a dense layer; one per expert)

    int64_t matrices() const { return int64_t(counts.size()); }
    int64_t columns() const { return counts.empty() ? 0 : int64_t(sums.size()) / matrices(); }
    // The quantizers' weights, per matrix: sums / count, and 1 everywhere for
    // a matrix no token reached (llama-quantize's load_imatrix does this for
    // experts the calibration text never routed to; so does Tailor).
    std::vector<float> weights() const;
};

// One layer's entry from the inputs that entered it ([..., cols]; every row a token).
ImatrixEntry imatrixEntryOf(const at::Tensor& inputs);
// A mixture's stacked experts: expert e's inputs are inputs[e] ([n_e, cols], n_e may be 0).
ImatrixEntry imatrixEntryOfExperts(const std::vector<at::Tensor>& inputs, int64_t cols);

struct Imatrix {
    std::map<std::string, ImatrixEntry> entries; // GGUF tensor name -> entry ("blk.3.attn_q.weight")
    std::vector<std::string> datasets;
    uint32_t chunkCount = 0, chunkSize = 0;
    std::string source; // the file it came from, for messages

    // Importance weights for a tensor (sums / count); empty when there is no entry.
    std::vector<float> weights(const std::string& tensor) const;
};

// Runs the calibration windows through the model block by block and sums the
// squares of every linear layer's inputs (q/k/v share the attention input,
// gate/up the MLP input). Names use the model's own block numbers.
Imatrix computeImatrix(const Model& model, const TokenWindows& calib, const std::string& dataset, const ProgressFn& progress = {});

void writeImatrix(const Imatrix& m, const std::string& path, bool force);
// Throws naming the file and the entry for anything malformed.
Imatrix readImatrix(const std::string& path);

// Checks an importance matrix against the tensors it will weight (GGUF name ->
// {row length, matrices}: 1, or the experts of a stacked tensor); refuses one from another model or with missing layers, naming
// the first layer that does not fit.
void checkImatrixFits(const Imatrix& m, const std::map<std::string, std::pair<int64_t, int64_t>>& columns);

} // namespace tailor
