#pragma once
// Small synthetic checkpoints for shapes no fixture has (tests linking the engine only).
#include "tests/support/synthetic_checkpoint.h"
#include "test_data.h"

namespace testdata {

// A synthetic Llama with an untied lm_head (hidden 64, vocab 512), written with
// the demo model's tokenizer.
inline void writeTinyUntiedModel(const QString& dir, int blocks, const std::string& dtype)
{
    tailor::SyntheticShape shape;
    shape.hidden = 64, shape.intermediate = 128, shape.n_layer = blocks, shape.n_head = 4, shape.n_head_kv = 2;
    shape.vocab = 512;
    shape.tied = false;
    tailor::writeSyntheticCheckpoint(dir.toStdString(), shape, dtype, tinystories12L());
}

} // namespace testdata
