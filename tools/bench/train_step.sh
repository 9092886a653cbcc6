#!/usr/bin/env bash
# The default training step side by side, in one run: this project's compiled step (with the fused
# parameter update, and with DL4J's updater for comparison), torchvision's DenseNet in channels_last
# (PyTorch's fastest CPU configuration), and the machine's sgemm roof measured between the rounds.
# Usage: tools/bench/train_step.sh [--rounds 3] [--model densenet121] [--batch 8] [--threads 2]
# Prints one line per run and a summary: each side's best median, the ratio to PyTorch and the share
# of the roof (a DenseNet-121 step is about 3 x 2.865 GMAC per image; other models: GFLOP not given).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=3 model=densenet121 batch=8 threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
torch_python=/usr/bin/python3 # Debian's torch and torchvision
numpy_python=$(command -v python3)
out=$(mktemp -d)
./densenet --help >/dev/null # build once, outside the timings

roof() {
  # numpy's OpenBLAS sgemm, 4096^3, best of 5, on $threads threads
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$threads "$numpy_python" -c '
import numpy as np, time
n = 4096; a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
a @ b; best = 1e9
for _ in range(5):
    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
print(round(2 * n ** 3 / best / 1e9, 1))'
}

ours() { # $1: true|false (the fused update)
  DENSENET_JAVA_OPTS="-Ddensenet4j.fusedUpdate=$1" ./densenet benchmark --model "$model" --mode train \
    --batch "$batch" --warmup 5 --iterations 7 --threads "$threads" 2>/dev/null | tail -1
}

torch_step() {
  "$torch_python" tools/bench/torch_bench.py --model "$model" --mode train --batch "$batch" --warmup 5 \
    --iterations 7 --threads "$threads" --channels-last --torchvision 2>/dev/null | tail -1
}

for r in $(seq "$rounds"); do
  echo "{\"side\":\"roof\",\"gflops\":$(roof)}" | tee -a "$out/runs.jsonl"
  ours true | sed 's/^{/{"side":"fused",/' | tee -a "$out/runs.jsonl"
  torch_step | sed 's/^{/{"side":"torch",/' | tee -a "$out/runs.jsonl"
  ours false | sed 's/^{/{"side":"dl4j-updater",/' | tee -a "$out/runs.jsonl"
done

"$numpy_python" - "$out/runs.jsonl" "$model" "$batch" <<'EOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
model, batch = sys.argv[2], int(sys.argv[3])
best = {}
for r in runs:
    if r["side"] == "roof":
        best["roof"] = max(best.get("roof", 0), r["gflops"])
    else:
        best.setdefault(r["side"], []).append((r["median_ms"], r.get("peak_rss_mb")))
gflop = 3 * 2.865 * batch * 2 if model == "densenet121" else None
print(f"roof (best of the rounds): {best['roof']} GFLOP/s")
for side in ("fused", "dl4j-updater", "torch"):
    medians = sorted(m for m, _ in best[side])
    rss = [r for _, r in best[side] if r]
    line = f"{side:13s} medians {', '.join(f'{m:.1f}' for m in medians)} ms, peak RSS {min(rss)}-{max(rss)} MB"
    if side != "torch":
        line += f", best/torch best {medians[0] / min(m for m, _ in best['torch']):.2f}x"
    if gflop:
        line += f", {gflop / medians[0] * 1000:.0f} GFLOP/s = {gflop / medians[0] * 1000 / best['roof']:.0%} of the roof"
    print(line)
EOF
