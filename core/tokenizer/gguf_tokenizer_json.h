#pragma once
// A GGUF file's own vocabulary (tokenizer.ggml.*) as the tokenizer.json and
// tokenizer_config.json it stands for, so one tokenizer implementation serves
// both. What the GGUF says is read as llama.cpp's llama-vocab.cpp reads it:
// - "llama" (SentencePiece): tokens, scores and types. A normal token of two
//   or more characters is made from each split into two vocabulary tokens, in
//   the order of its score (highest first): llama.cpp's SPM tokenizer merges
//   the adjacent pair whose join is the best-scored token. A space is put
//   before the text (add_space_prefix, default true) and spaces become "▁";
//   unknown characters fall back to <0xNN> byte tokens.
// - "gpt2" (byte-level BPE): tokens, merges, and tokenizer.ggml.pre naming the
//   split regex (the regexes are llama.cpp's table for those names, written
//   as the tokenizer.json they came from has them).
// Control tokens (type 3) and user-defined ones (4) are added tokens, matched
// in the text before the rest. BOS/EOS and whether they are added come from
// tokenizer.ggml.{bos,eos}_token_id and add_{bos,eos}_token.
#include <QJsonObject>

namespace tailor {

namespace gguf { class File; }

struct TokenizerJson {
    QJsonObject tokenizer, config;
};

// Throws naming the file and the key (a vocabulary without merges, an unknown
// tokenizer model or pre-tokenizer, ids out of range).
TokenizerJson tokenizerJsonFromGguf(const gguf::File& file);

} // namespace tailor
