#!/usr/bin/env bash
# The joint size budget's table in docs/benchmarks.md (#29): tailor-cli plan on
# the demo model at the sizes of llama-quantize's Q4_K_M file (the target) and,
# as the frontier, Q3_K_M, Q2_K and 1.15 MB (below the smallest quant-only
# file); every measured plan with its size, predicted and measured KLD, top-1
# and PPL on tinystories-valid-99 (windows of 256) and accuracy on the shipped
# next-sentence task, as Markdown.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${TAILOR_BUILD_DIR:-$root/build}/app/tailor-cli"
model="$root/resources/models/tinystories-12L"
data="$root/resources/data"
json="$(mktemp)"
trap 'rm -f "$json"' EXIT
"$cli" plan "$model" --calib "$data/tinystories-calib-50.txt" --text "$data/tinystories-valid-99.txt" \
  --task "$data/tinystories-next-sentence.jsonl" --target-size q4_k_m --frontier q3_k_m,q2_k,1.15M --json >"$json" 2>/dev/null
python3 - "$json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("| size (bytes) | plan | kind | structural KLD | predicted KLD | measured KLD | top-1 | PPL | task acc |")
print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
rows = [p for p in r["plans"] if p["measured"]] + r["frontier"]
for p in sorted(rows, key=lambda p: (-p["file_bytes"], p["kld_mean"])):
    star = " **(chosen)**" if p["chosen"] else ""
    print(f'| {p["file_bytes"]:.0f} | {p["label"]}{star} | {p["kind"]} | {p["structural_kld"]:.5f} | {p["predicted_kld"]:.5f} | '
          f'{p["kld_mean"]:.5f} | {100 * p["top1_agreement"]:.2f} % | {p["ppl"]:.4f} | {100 * p["task_acc"]:.1f} % |')
print()
print(f'target {r["target_bytes"]:.0f} bytes ({r.get("size_of", "")}); reachable {r["min_bytes"]:.0f} to {r["max_bytes"]:.0f}; '
      f'rank correlation of predicted and measured KLD over {len(rows)} measured plans: {r["rank_correlation"]:.3f}')
PY
