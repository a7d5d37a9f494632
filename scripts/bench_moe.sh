#!/usr/bin/env bash
# Decode speed of a mixture against the bytes a token reads (#30): the decoder
# reads the router and only the k experts a token is routed to, so its speed
# should follow weight_bytes_per_token when k changes. Writes the
# "mixtral-bench" synthetic (hidden 512, 8 experts of 1408 channels, 4 blocks,
# BF16; scripts/moe_synthetic.mjs) and runs `tailor-cli speed` on it with
# k = 1, 2, 4 and 8 (the same weights; config.json's num_experts_per_tok), in
# one run. Prints a Markdown table for docs/benchmarks.md.
#   bash scripts/bench_moe.sh [WORK_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TAILOR_BUILD_DIR:-$root/build}"
work="${1:-$(mktemp -d)}"
base="$work/mixtral-bench"
[ -f "$base/model.safetensors" ] || node "$root/scripts/moe_synthetic.mjs" make "$base" mixtral-bench
cp "$root/tests/data/tokenizers/llama2/tokenizer.json" "$root/tests/data/tokenizers/llama2/tokenizer_config.json" "$base/"
echo "| experts a token | weight bytes a token | decode tokens/s (median) | bytes × speed (GB/s) | speed vs k = 8 | bytes vs k = 8 (inverse) |"
echo "| --- | --- | --- | --- | --- | --- |"
declare -A bytes speed
for k in 8 4 2 1; do
  dir="$work/mixtral-bench-k$k"
  mkdir -p "$dir"
  ln -sf "$base/model.safetensors" "$dir/model.safetensors"
  cp "$base/tokenizer.json" "$base/tokenizer_config.json" "$dir/"
  sed "s/\"num_experts_per_tok\": [0-9]*/\"num_experts_per_tok\": $k/" "$base/config.json" > "$dir/config.json"
  "$build/app/tailor-cli" speed "$dir" --prompt-tokens 16 --decode-tokens 64 --repeats 5 --json --quiet > "$work/k$k.json"
  bytes[$k]=$(python3 -c "import json; print(json.load(open('$work/k$k.json'))['dense']['weight_bytes_per_token'])")
  speed[$k]=$(python3 -c "import json; print(json.load(open('$work/k$k.json'))['dense']['decode_tokens_per_s']['median'])")
  python3 -c "
b, s, b8, s8 = ${bytes[$k]}, ${speed[$k]}, ${bytes[8]}, ${speed[8]}
print(f'| $k | {b/1e6:.1f} MB | {s:.1f} | {b*s/1e9:.2f} | {s/s8:.2f} | {b8/b:.2f} |')"
done
