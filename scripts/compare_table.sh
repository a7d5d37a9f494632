#!/usr/bin/env bash
# GGUF files judged on one text (#28), on the demo model:
#   bash scripts/compare_table.sh [WORK_DIR]
# Writes tinystories-12L as F16, Q8_0, Q6_K, Q4_K_M, IQ4_XS and IQ3_S GGUFs
# (tailor-cli compress, an importance matrix from the calibration text, the
# files byte-identical to llama-quantize's: test_llama_oracle), then measures
# them all against the HF model in one `tailor-cli compare` run on
# tinystories-valid-99 (windows of 256), and each again with `eval --base`
# (the two must agree: test_cli::compareEqualsEvalBase). About 3 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TAILOR_BUILD_DIR:-$root/build}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
cli="$build/app/tailor-cli"
model="$root/resources/models/tinystories-12L"
calib="$root/resources/data/tinystories-calib-50.txt"
text="$root/resources/data/tinystories-valid-99.txt"
printf '{"model": "%s"}\n' "$model" > "$work/plan.json"
[ -s "$work/imatrix.gguf" ] || "$cli" imatrix "$model" --calib "$calib" --out "$work/imatrix.gguf" --force > /dev/null 2>&1
files=()
for t in f16 q8_0 q6_k q4_k_m iq4_xs iq3_s; do
  [ -s "$work/ts-$t.gguf" ] || "$cli" compress --plan "$work/plan.json" --format gguf --type "$t" \
    --imatrix "$work/imatrix.gguf" --out "$work/ts-$t.gguf" --force > /dev/null 2>&1
  files+=("$work/ts-$t.gguf")
done
"$cli" compare "$model" "${files[@]}" --text "$text" 2> /dev/null
for f in "${files[@]}"; do
  printf '%s: ' "$(basename "$f")"
  "$cli" eval "$f" --base "$model" --text "$text" 2> /dev/null | tail -1
done
