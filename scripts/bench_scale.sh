#!/usr/bin/env bash
# Scale benchmark (#8): writes a synthetic checkpoint of a real shape (1b =
# TinyLlama-1.1B, 7b = Llama-2-7B; BF16, sharded) and runs the heavy commands on
# it, each in its own process so /usr/bin/time reports its peak RSS:
#   bash scripts/bench_scale.sh 1b [WORK_DIR]
# Prints a Markdown table for docs/benchmarks.md. Needs disk: 2.2 GB (1b), 13.5 GB (7b).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TAILOR_BUILD_DIR:-$root/build}"
shape="${1:-1b}"
work="${2:-$(mktemp -d)}"
model="$work/synthetic-$shape"
cli="$build/app/tailor-cli"
calib="$root/resources/data/tinystories-calib-50.txt"
[ -f "$model/config.json" ] || /usr/bin/time -f "write %e s %M KB" "$build/bench/bench_write_synthetic" "$shape" "$model"
size=$(du -sb "$model" | cut -f1)
run() { # name, command...
  local name="$1"; shift
  local t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$@" > "$work/$name.json" 2> "$work/$name.err"
  local t1=$(date +%s.%N)
  # /usr/bin/time's %M is in KiB; GB here are 10^9 bytes, like the checkpoint size
  printf "| %s | %.1f s | %.2f GB | %s |\n" "$name" "$(echo "$t1 - $t0" | bc)" "$(echo "$(cat "$work/rss") * 1024 / 1000000000" | bc -l)" "\`${*#$build/}\`"
}
echo "checkpoint $model: $(echo "$size / 1000000000" | bc -l | cut -c1-5) GB"
echo "| run | time | peak RSS | command |"
echo "| --- | --- | --- | --- |"
run info "$cli" info "$model" --json
run eval "$cli" eval "$model" --text "$calib" --seq-len 128 --max-windows 10 --json
run blocks_ppl "$cli" blocks "$model" --calib "$calib" --criterion ppl --json
run blocks_bi "$cli" blocks "$model" --calib "$calib" --criterion bi --json
run taylor "$cli" blocks "$model" --calib "$calib" --criterion taylor --json
run quant_rtn "$cli" quant "$model" --calib "$calib" --bits 4 --group 128 --sym --json
# the GUI (offscreen) running Block Influence while a simulated user switches
# tabs, walks the model tree and resizes the window every 300 ms
run gui_bi env QT_QPA_PLATFORM=offscreen "$build/bench/bench_gui_scan" "$model" bi
echo "limit (checkpoint + 3 GiB): $(echo "($size + 3 * 1073741824) / 1000000000" | bc -l | cut -c1-5) GB"
cat "$work/gui_bi.json"
sgemm=$("$build/bench/bench_sgemm")
python3 - "$work" "$model" "$sgemm" <<'PY'
import json, sys
w, model, sgemm = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = json.load(open(model + "/config.json"))
H, I, L, V = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
kv = H // c["num_attention_heads"] * c["num_key_value_heads"]
block = 3 * H * I + H * (H + 2 * kv) + H * H          # matmul parameters of one block
e = json.load(open(w + "/eval.json"))
b = json.load(open(w + "/blocks_ppl.json"))
tokens = 10 * 128
eval_gf = 2 * (L * block + V * H) * e["tokens"] / e["seconds"] / 1e9
passes = L + L * (L - 1) // 2                          # dense pass + tails of the dropped runs
scan_gf = 2 * (passes * block + (L + 1) * V * H) * tokens / b["seconds"] / 1e9
print(f"\nlibtorch sgemm {sgemm:.1f} GFLOP/s (same machine, measured right after)")
print(f"eval: ppl {e['ppl']:.3f}, {e['tokens_per_s']:.0f} tokens/s, {eval_gf:.1f} GFLOP/s = {eval_gf / sgemm:.2f} x sgemm")
print(f"PPL scan: {b['seconds']:.1f} s = {b['seconds'] / (L * e['seconds']):.2f} x L forwards, {scan_gf:.1f} GFLOP/s = {scan_gf / sgemm:.2f} x sgemm")
PY
