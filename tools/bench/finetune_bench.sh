#!/usr/bin/env bash
# The 3-epoch fine-tune of a 200-image, 4-class folder: this tree's `densenet finetune` against an
# earlier commit's, alternating, same machine, same run; wall time, peak RSS and the accuracy of
# each resulting model on 200 held-out images.
#   tools/bench/finetune_bench.sh [BEFORE_REV=c366624] [ROUNDS=2]
# AFTER_ARGS adds options to this tree's finetune (e.g. "--validation 0", to train on every image
# as the old finetune does); BEFORE_REV=none runs this tree only. The images and the model are the
# same in every run (seeded).
# c366624 is the last commit whose finetune ran every image through the frozen network each epoch.
# Needs /usr/bin/python3 with numpy and PIL (Debian's python3-numpy, python3-pil) for the images.
set -euo pipefail
cd "$(dirname "$0")/../.."
before_rev=${1:-c366624}
rounds=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Four colour tints with per-pixel noise and a brightness offset per image: learnable, not trivial.
/usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
from PIL import Image
root = sys.argv[1]
tints = {"blue": (95, 110, 160), "gray": (135, 145, 105), "green": (100, 140, 90), "red": (145, 108, 118)}
rng = np.random.default_rng(20261202)
for split in ("train", "test"):
    for name, tint in tints.items():
        import os
        os.makedirs(f"{root}/{split}/{name}", exist_ok=True)
        for i in range(50):
            base = np.array(tint, float) + rng.normal(0, 25, 3)
            img = base + rng.normal(0, 20, (240, 320, 3))
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(f"{root}/{split}/{name}/{i}.jpg", quality=90)
PY

./densenet --help >/dev/null
cp="densenet-examples/target/densenet-examples-0.1.0-SNAPSHOT.jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)"
java -cp "$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn tools/bench/RandomModel.java densenet121 "$work/d121.zip" >/dev/null

trees=(after)
if [ "$before_rev" != none ]; then
  trees+=(before)
  mkdir "$work/before"
  git archive "$before_rev" | tar -x -C "$work/before"
  (cd "$work/before" && ./densenet --help >/dev/null)
fi

accuracy() { # correct top-1 predictions of model $1 on the held-out images
  local right=0 n c
  for c in blue gray green red; do
    n=$(./densenet predict --model "$1" --images "$work/test/$c" 2>/dev/null | grep -c "  1. $c (" || true)
    right=$((right + n))
  done
  echo "$right"
}

echo "| run | tree | wall s | peak RSS MB | held-out correct of 200 |"
echo "|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for which in "${trees[@]}"; do
    dir=.; extra=${AFTER_ARGS:-}; [ "$which" = before ] && dir="$work/before" && extra=
    # shellcheck disable=SC2086 # AFTER_ARGS is a list of options
    /usr/bin/time -f "%e %M" -o "$work/time" "$dir/densenet" finetune --model "$work/d121.zip" \
      --images "$work/train" --epochs 3 --out "$work/$which.zip" --force $extra >"$work/$which.log" 2>&1
    read -r wall rss <"$work/time"
    label="$which ($([ "$which" = before ] && echo "$before_rev" || echo "$(git rev-parse --short HEAD) ${extra}"))"
    echo "| $round | ${label/ )/)} | $wall | $((rss / 1024)) | $(accuracy "$work/$which.zip") |"
    grep "validation acc" "$work/$which.log" | tail -1 | sed 's/^/    /' >&2 || true
  done
done
