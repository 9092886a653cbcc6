#!/usr/bin/env bash
# Before/after A/B of this project's engine, each measured against a peer in the same run:
#   DenseNet-121 224x224 inference, batch 1 and 8  vs ONNX Runtime 1.29 (tools/bench/OrtBench.java)
#   DenseNet-121 224x224 training step, batch 8    vs PyTorch channels_last (torchvision's DenseNet, tools/bench/torch_bench.py --torchvision)
# 2 threads everywhere. "before" is BEFORE_REV (default b2a20dd) extracted with `git archive` to
# /tmp/densenet-before and built there; "after" is --after DIR (default: this checkout, its working
# tree as it is now; its launcher rebuilds it when stale). For each workload, ROUNDS rounds run
# before, after, peer (every other round in reverse order, so slow drift hits all three alike); each
# run is a fresh process reporting the median of its timed iterations after warm-up; the table shows
# the best (lowest) of those medians over the rounds (other load only ever slows a run down), their
# ratios, and the largest peak RSS; the medians of every round are listed below it.
#
# Usage: tools/bench/engine_ab.sh [--after DIR] [--rounds N] [BEFORE_REV]
# Env:   INFER_WARMUP=5 INFER_ITERATIONS=7 TRAIN_WARMUP=5 TRAIN_ITERATIONS=5 (the defaults)
# Needs: Maven (fetches com.microsoft.onnxruntime:onnxruntime:1.29.0), Debian's python3-torch.
# Compare ratios, not absolute times: these drift between runs and machines by tens of percent.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
after="$repo"; rounds=2; rev=b2a20dd
while [[ $# -gt 0 ]]; do
  case "$1" in
    --after) after="$(cd "$2" && pwd)"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
    *) rev="$1"; shift ;;
  esac
done
iw=${INFER_WARMUP:-5}; ii=${INFER_ITERATIONS:-7}; tw=${TRAIN_WARMUP:-5}; ti=${TRAIN_ITERATIONS:-5}
py=/usr/bin/python3           # Debian's, with torch
work=/tmp/densenet-bench; before=/tmp/densenet-before
export OMP_NUM_THREADS=2
mkdir -p "$work"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# The peers' inputs: the ONNX Runtime jar and the exported model.
ort_jar="$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar"
[[ -f "$ort_jar" ]] || mvn -B -q dependency:get -Dartifact=com.microsoft.onnxruntime:onnxruntime:1.29.0
onnx="$work/densenet121.onnx"
[[ -f "$onnx" ]] || "$py" "$repo/tools/bench/export_onnx.py" "$onnx" >/dev/null

# The "before" build (kept between runs while it is of the same revision).
sha=$(git -C "$repo" rev-parse --verify "$rev^{commit}")
if [[ "$(cat "$before/.bench-rev" 2>/dev/null)" != "$sha" ]]; then
  rm -rf "$before"; mkdir -p "$before"
  git -C "$repo" archive "$sha" | tar -x -C "$before"
  echo "$sha" >"$before/.bench-rev"
fi
for dir in "$before" "$after"; do
  echo "engine_ab: building $dir (if stale)..." >&2
  (cd "$dir" && ./densenet --help >/dev/null) || { echo "engine_ab: the build of $dir failed" >&2; exit 1; }
done

json() { grep '^{' | tail -1; }
field() { "$py" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
run() { # run ENGINE MODE BATCH WARMUP ITERATIONS -> the JSON line
  local engine=$1 mode=$2 batch=$3 warmup=$4 iterations=$5
  case "$engine" in
    before|after)
      local dir=$before; [[ $engine == after ]] && dir=$after
      (cd "$dir" && ./densenet benchmark --model densenet121 --mode "$mode" --batch "$batch" --input 224x224 \
          --warmup "$warmup" --iterations "$iterations" --threads 2) | json ;;
    peer)
      if [[ $mode == infer ]]; then
        java -cp "$ort_jar" "$repo/tools/bench/OrtBench.java" --model "$onnx" --batch "$batch" \
            --warmup "$warmup" --iterations "$iterations" --threads 2 | json
      else
        "$py" "$repo/tools/bench/torch_bench.py" --model densenet121 --mode train --batch "$batch" --input 224x224 \
            --warmup "$warmup" --iterations "$iterations" --threads 2 --channels-last --torchvision | json
      fi ;;
  esac
}
best() { "$py" -c "import sys; print(round(min(map(float, sys.argv[1:])), 1))" "$@"; }
maxof() { printf '%s\n' "$@" | sort -n | tail -1; }
ratio() { "$py" -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

rows=(); log=()
for w in "infer 1 $iw $ii" "infer 8 $iw $ii" "train 8 $tw $ti"; do
  read -r mode batch warmup iterations <<<"$w"
  declare -A ms=() rss=()
  for ((r = 1; r <= rounds; r++)); do
    order=(before after peer); ((r % 2 == 0)) && order=(peer after before)
    for engine in "${order[@]}"; do
      echo "engine_ab: $mode batch $batch, round $r/$rounds: $engine" >&2
      j=$(run "$engine" "$mode" "$batch" "$warmup" "$iterations")
      [[ -n "$j" ]] || { echo "engine_ab: $engine printed no JSON line" >&2; exit 1; }
      ms[$engine]+=" $(field "$j" median_ms)"; rss[$engine]+=" $(field "$j" peak_rss_mb)"
      [[ $engine == peer ]] || backend=$(field "$j" backend)
    done
  done
  b=$(best ${ms[before]}); a=$(best ${ms[after]}); p=$(best ${ms[peer]})
  peer=$([[ $mode == infer ]] && echo "ONNX Runtime" || echo "PyTorch channels_last")
  rows+=("| $mode batch $batch vs $peer | $b | $a | $p | $(ratio "$b" "$p") | $(ratio "$a" "$p") | $(ratio "$a" "$b") \
| $(maxof ${rss[before]}) | $(maxof ${rss[after]}) | $(maxof ${rss[peer]}) |")
  log+=("- $mode batch $batch, medians per round (ms): before${ms[before]}; after${ms[after]}; peer${ms[peer]}")
  unset ms rss
done

echo "DenseNet-121 224x224, 2 threads; before = ${rev} (${sha:0:7}) in $before, after = $after"
echo "($rounds rounds; inference warmup $iw iterations $ii, training warmup $tw iterations $ti; DL4J backend: $backend)"
echo "(load average at start $load_start, at end $(cut -d' ' -f1-3 /proc/loadavg); on 2 cores, other load inflates times)"
echo
echo "| workload | before ms | after ms | peer ms | before/peer | after/peer | after/before | before peak RSS MB | after peak RSS MB | peer peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
printf '%s\n' "${log[@]}"
