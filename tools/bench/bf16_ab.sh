#!/usr/bin/env bash
# bf16 against fp32, and against ONNX Runtime fp32, in one run: DenseNet-121 224x224 inference with
# `densenet benchmark --precision fp32|bf16` and tools/bench/OrtBench.java, alternating (each round
# runs fp32, bf16, ORT; every other round in reverse order, so slow drift hits all three alike). Each
# run is a fresh process reporting the median and the minimum of its timed iterations after warm-up;
# the table shows the best (lowest) median over the rounds and the ratios, then every round's medians
# and the load average before and after each round (other load only ever slows a run down).
#
# Usage: tools/bench/bf16_ab.sh [--rounds N] [--threads T] [--batch B] [--model PRESET]
# Env:   WARMUP=5 ITERATIONS=7 (the defaults)
# Needs: Maven (fetches com.microsoft.onnxruntime:onnxruntime:1.29.0), Debian's python3-torch for the export.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
rounds=3; threads=2; batch=8; model=densenet121
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
    *) echo "bf16_ab: unknown argument $1" >&2; exit 2 ;;
  esac
done
warmup=${WARMUP:-5}; iterations=${ITERATIONS:-7}
py=/usr/bin/python3           # Debian's, with torch
work=/tmp/densenet-bench
export OMP_NUM_THREADS=$threads
mkdir -p "$work"

ort_jar="$HOME/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar"
[[ -f "$ort_jar" ]] || mvn -B -q dependency:get -Dartifact=com.microsoft.onnxruntime:onnxruntime:1.29.0
onnx="$work/densenet121.onnx"
if [[ $model == densenet121 && ! -f "$onnx" ]]; then
  "$py" "$repo/tools/bench/export_onnx.py" "$onnx" >/dev/null
fi
(cd "$repo" && ./densenet --help >/dev/null) || { echo "bf16_ab: the build failed" >&2; exit 1; }

json() { grep '^{' | tail -1; }
field() { "$py" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
run() { # run fp32|bf16|ort -> the JSON line
  case "$1" in
    fp32|bf16)
      (cd "$repo" && ./densenet benchmark --model "$model" --batch "$batch" --precision "$1" \
          --warmup "$warmup" --iterations "$iterations" --threads "$threads") | json ;;
    ort)
      java -cp "$ort_jar" "$repo/tools/bench/OrtBench.java" --model "$onnx" --batch "$batch" \
          --warmup "$warmup" --iterations "$iterations" --threads "$threads" | json ;;
  esac
}
best() { "$py" -c "import sys; print(round(min(map(float, sys.argv[1:])), 1))" "$@"; }
ratio() { "$py" -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

engines=(fp32 bf16); [[ $model == densenet121 ]] && engines+=(ort)
declare -A ms=() mins=(); log=()
for ((r = 1; r <= rounds; r++)); do
  order=("${engines[@]}"); ((r % 2 == 0)) && order=($(printf '%s\n' "${engines[@]}" | tac))
  before=$(cut -d' ' -f1-3 /proc/loadavg); line="- round $r (load $before):"
  for e in "${order[@]}"; do
    echo "bf16_ab: round $r/$rounds: $e" >&2
    j=$(run "$e")
    [[ -n "$j" ]] || { echo "bf16_ab: $e printed no JSON line" >&2; exit 1; }
    [[ $e == bf16 && "$(field "$j" precision)" != bf16 ]] && echo "bf16_ab: bf16 ran as $(field "$j" precision)" >&2
    ms[$e]+=" $(field "$j" median_ms)"; mins[$e]+=" $(field "$j" min_ms)"
    line+=" $e $(field "$j" median_ms) (min $(field "$j" min_ms))"
  done
  log+=("$line; load after $(cut -d' ' -f1-3 /proc/loadavg)")
done

echo "$model batch $batch, $threads threads, $rounds rounds, warmup $warmup, iterations $iterations"
echo
echo "| run | fp32 ms | bf16 ms | bf16/fp32 |$([[ ${#engines[@]} == 3 ]] && echo " ORT fp32 ms | bf16/ORT | fp32/ORT |")"
echo "|---|---|---|---|$([[ ${#engines[@]} == 3 ]] && echo "---|---|---|")"
f=$(best ${ms[fp32]}); b=$(best ${ms[bf16]})
row="| best median | $f | $b | $(ratio "$b" "$f") |"
if [[ ${#engines[@]} == 3 ]]; then o=$(best ${ms[ort]}); row+=" $o | $(ratio "$b" "$o") | $(ratio "$f" "$o") |"; fi
echo "$row"
f=$(best ${mins[fp32]}); b=$(best ${mins[bf16]})
row="| best single iteration | $f | $b | $(ratio "$b" "$f") |"
if [[ ${#engines[@]} == 3 ]]; then o=$(best ${mins[ort]}); row+=" $o | $(ratio "$b" "$o") | $(ratio "$f" "$o") |"; fi
echo "$row"
echo
printf '%s\n' "${log[@]}"
