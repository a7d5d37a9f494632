#!/usr/bin/env python3
"""Depth against width pruning at the same block-parameter budget (#18), the
comparison Shortened LLaMA is about, on tinystories-12L with tailor-cli only:

  depth: the 3 of 12 blocks Block Influence suggests (25 % of the block parameters);
  width: one KV group (2 of 4 heads) and 56 of 352 MLP channels removed from every
         block by first-order Taylor (24,576 + 21,504 = 46,080 of 184,320 = 25 %);

both healed with the same LoRA settings, then PPL, KL divergence and top-1
agreement against the dense model (evaluation text), multiple-choice accuracy
(the shipped next-sentence task), parameters, file size, and measured prefill /
batch-1 decode speed and batch-8 generation throughput (tailor-cli speed --batch 8:
medians of 3 runs after a warm-up).
Prints a markdown table (docs/width-vs-depth.md records one run).

With --big DIR (the 1.1B shape: build/bench/bench_write_synthetic 1b DIR), the
speeds of both arms at 22.7 % of the block parameters there too: 5 of 22 blocks
dropped, against 8 of 32 heads (2 KV groups) and 1,203 of 5,632 channels
removed from every block by weight magnitude (no healing: speed only).

  python3 scripts/width_vs_depth.py [OUT_DIR] [--steps N] [--cli build/app/tailor-cli] [--big DIR]
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
args = sys.argv[1:]
cli = os.path.join(ROOT, "build/app/tailor-cli")
steps = 100
out = "/tmp/tailor-width-vs-depth"
big = None
i = 0
while i < len(args):
    if args[i] == "--steps":
        steps = int(args[i + 1]); i += 2
    elif args[i] == "--big":
        big = args[i + 1]; i += 2
    elif args[i] == "--cli":
        cli = args[i + 1]; i += 2
    else:
        out = args[i]; i += 1
os.makedirs(out, exist_ok=True)
model = os.path.join(ROOT, "resources/models/tinystories-12L")
calib = os.path.join(ROOT, "resources/data/tinystories-calib-50.txt")
valid = os.path.join(ROOT, "resources/data/tinystories-valid-99.txt")
task = os.path.join(ROOT, "resources/data/tinystories-next-sentence.jsonl")


def run(*a):
    r = subprocess.run([cli, *a, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"tailor-cli {' '.join(a)} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


heal = {"text": calib, "steps": steps, "rank": 8, "lr": 3e-4}
suggested = run("blocks", model, "--calib", calib, "--criterion", "bi", "--suggest", "3")["suggested"]
depth_plan = {"model": model, "drop_blocks": suggested, "heal": heal}
width_file = os.path.join(out, "width-units.json")
width = run("width", model, "--calib", calib, "--criterion", "taylor", "--heads", "2", "--mlp", "56", "--out", width_file)
width_plan = json.load(open(width_file))
width_plan["heal"] = heal
ranked_file = os.path.join(out, "width-ranked-units.json")
run("width", model, "--calib", calib, "--criterion", "taylor", "--heads", "2", "--mlp", "56", "--non-uniform", "--out", ranked_file)
ranked_plan = json.load(open(ranked_file))
ranked_plan["heal"] = heal

rows = []
for name, plan in (("depth (BI, 3 blocks)", depth_plan), ("width (Taylor, 2 heads + 56 channels)", width_plan)):
    tag = name.split()[0]
    pf = os.path.join(out, f"{tag}-plan.json")
    json.dump(plan, open(pf, "w"), indent=1)
    folder = os.path.join(out, tag)
    rep = run("compress", "--plan", pf, "--out", folder, "--text", valid, "--force")
    last = rep["stages"][-1]
    acc = run("tasks", folder, "--task", task)
    speed = run("speed", folder, "--prompt-tokens", "64", "--decode-tokens", "32", "--repeats", "3", "--batch", "8")
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".safetensors"))
    rows.append((name, last, acc, dict(speed["dense"], batch=speed["dense_batch"]), size))

# Per-block widths: no HF folder holds them, so the export is a GGUF (deci, F16 like the BF16
# folders above), task accuracy comes from compress --task, speeds from the plan itself.
pf = os.path.join(out, "ranked-plan.json")
json.dump(ranked_plan, open(pf, "w"), indent=1)
gg = os.path.join(out, "ranked.gguf")
rep = run("compress", "--plan", pf, "--out", gg, "--format", "gguf", "--type", "f16", "--text", valid, "--task", task, "--force")
last = rep["stages"][-1]
speed = run("speed", pf, "--prompt-tokens", "64", "--decode-tokens", "32", "--repeats", "3", "--batch", "8")
rows.append(("width per block (Taylor, the same units in all)", last, {"acc": last["task_acc"], "acc_stderr": last["task_acc_stderr"]},
             dict(speed["compressed"], batch=speed["compressed_batch"]), os.path.getsize(gg)))

ds = run("speed", model, "--prompt-tokens", "64", "--decode-tokens", "32", "--repeats", "3", "--batch", "8")
dense_speed = dict(ds["dense"], batch=ds["dense_batch"])
dense_acc = run("tasks", model, "--task", task)
dense_size = sum(os.path.getsize(os.path.join(model, f)) for f in os.listdir(model) if f.endswith(".safetensors"))

print(f"healing: {steps} LoRA steps, rank 8, lr 3e-4 on {os.path.basename(calib)}; evaluation text {os.path.basename(valid)}")
print("| arm | PPL | KLD from dense (mean) | top-1 agreement | acc (next sentence) | parameters | safetensors | prefill tokens/s | decode tokens/s (min–max) | KV cache a token | batch-8 prefill tokens/s | batch-8 decode tokens/s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
d = dense_speed["decode_tokens_per_s"]
print(f"| dense | – | 0 | 100 % | {dense_acc['acc']:.3f} ± {dense_acc['acc_stderr']:.3f} | {width['parameters_dense']:.0f} | "
      f"{dense_size / 1e6:.2f} MB | {dense_speed['prefill_tokens_per_s']['median']:.0f} | {d['median']:.0f} ({d['min']:.0f}–{d['max']:.0f}) | "
      f"{dense_speed['kv_bytes_per_token'] / 1e3:.0f} kB | {dense_speed['batch']['prefill_tokens_per_s']['median']:.0f} | "
      f"{dense_speed['batch']['decode_tokens_per_s']['median']:.0f} |")
for name, last, acc, sp, size in rows:
    d = sp["decode_tokens_per_s"]
    print(f"| {name} | {last['ppl']:.3f} | {last['kld_mean']:.4f} | {100 * last['top1_agreement']:.1f} % | "
          f"{acc['acc']:.3f} ± {acc['acc_stderr']:.3f} | {last['parameters']:.0f} | {size / 1e6:.2f} MB | "
          f"{sp['prefill_tokens_per_s']['median']:.0f} | {d['median']:.0f} ({d['min']:.0f}–{d['max']:.0f}) | "
          f"{sp['kv_bytes_per_token'] / 1e3:.0f} kB | {sp['batch']['prefill_tokens_per_s']['median']:.0f} | "
          f"{sp['batch']['decode_tokens_per_s']['median']:.0f} |")

if big:
    def line(name, sp, b):
        d, p, bd, bp = sp["decode_tokens_per_s"], sp["prefill_tokens_per_s"], b["decode_tokens_per_s"], b["prefill_tokens_per_s"]
        return (f"| {name} | {sp['kept_blocks']} | {sp['weight_bytes_per_token'] / 1e9:.3f} GB | {sp['kv_bytes_per_token'] / 1e6:.1f} MB | "
                f"{p['median']:.1f} ({p['min']:.1f}–{p['max']:.1f}) | "
                f"{d['median']:.2f} ({d['min']:.2f}–{d['max']:.2f}) | {sp['roofline_tokens_per_s']:.1f} | {bp['median']:.1f} | {bd['median']:.1f} ({bd['min']:.1f}–{bd['max']:.1f}) |")
    depth = run("speed", big, "--drop", "16,17,18,19,20", "--prompt-tokens", "128", "--decode-tokens", "32", "--repeats", "3", "--batch", "8")
    wf = os.path.join(out, "big-width.json")
    run("width", big, "--criterion", "magnitude", "--heads", "8", "--mlp", "1203", "--out", wf)
    width_big = run("speed", wf, "--prompt-tokens", "128", "--decode-tokens", "32", "--repeats", "3", "--batch", "8")
    print()
    print(f"1.1B shape ({big}), 2 threads unless the machine is busy, prompt 128, 32 decoded tokens, 3 runs after a warm-up:")
    print("| arm | blocks | weights a token | KV cache a token | prefill tokens/s | decode tokens/s | roofline | batch-8 prefill tokens/s | batch-8 decode tokens/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(line("dense", depth["dense"], depth["dense_batch"]))
    print(line("depth: 5 of 22 blocks", depth["compressed"], depth["compressed_batch"]))
    print(line("width: 8 heads + 1,203 channels a block", width_big["compressed"], width_big["compressed_batch"]))
    print(f"decode speed-up: depth {depth['decode_speedup_measured']:.3f} (bytes predict {depth['decode_speedup_predicted_from_bytes']:.3f}), "
          f"width {width_big['decode_speedup_measured']:.3f} (bytes predict {width_big['decode_speedup_predicted_from_bytes']:.3f})")
    print(f"batch-8 decode speed-up: depth {depth['batch_decode_speedup_measured']:.3f}, width {width_big['batch_decode_speedup_measured']:.3f}")
