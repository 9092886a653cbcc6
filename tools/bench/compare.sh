#!/usr/bin/env bash
# DL4J (./densenet benchmark) against PyTorch (tools/bench/torch_bench.py) on the same machine, in
# the same run, 2 threads each, median of the timed runs after warm-up; prints a Markdown table.
# Usage: tools/bench/compare.sh [ITERATIONS [WARMUP]]   (needs Debian's python3-torch)
# DL4J's training steps settle after about five (its workspaces size themselves over the first
# iterations), hence five warm-up runs by default, for both frameworks alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations="${1:-5}"
warmup="${2:-5}"
workloads=(
  "densenet121 infer 1 224x224"
  "densenet121 infer 8 224x224"
  "densenet121 train 8 224x224"
  "densenet-bc100-k12 train 64 32x32"
  "densenet-fmnist train 64 28x28x1"
)
json() { grep '^{' | tail -1; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
./densenet --help >/dev/null   # builds on first use
echo "| workload | DL4J median ms | PyTorch median ms | ratio DL4J/PyTorch | DL4J peak RSS MB | PyTorch peak RSS MB |"
echo "|---|---|---|---|---|---|"
for w in "${workloads[@]}"; do
  read -r model mode batch input <<<"$w"
  d=$(OMP_NUM_THREADS=2 ./densenet benchmark --model "$model" --mode "$mode" --batch "$batch" --input "$input" \
        --warmup "$warmup" --iterations "$iterations" --threads 2 | json)
  t=$(/usr/bin/python3 tools/bench/torch_bench.py --model "$model" --mode "$mode" --batch "$batch" --input "$input" \
        --warmup "$warmup" --iterations "$iterations" --threads 2 | json)
  dm=$(field "$d" median_ms); tm=$(field "$t" median_ms)
  ratio=$(python3 -c "print(f'{$dm / $tm:.2f}')")
  echo "| $model $mode batch $batch $input | $dm | $tm | $ratio | $(field "$d" peak_rss_mb) | $(field "$t" peak_rss_mb) |"
done
echo
echo "DL4J backend: $(field "$d" backend)"
