#!/usr/bin/env bash
# Featurizing a folder with Spark (local[2]) against the single-process `densenet features`, on the
# same machine in the same run: DenseNet-121 (random weights) on N JPEG photos-sized images (320x240,
# written by PIL), batch 16. Each side also runs on a one-image folder, so that the fixed costs (JVM,
# Spark session, model load) and the cost per image can be told apart; the inference alone is
# `densenet benchmark --mode infer` at the same batch.
# Usage: tools/bench/spark_features.sh [N=2000]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000}
work=$(mktemp -d)
./densenet --help >/dev/null
./densenet spark-features --help >/dev/null
/usr/bin/python3 - "$work/images" "$n" <<'PY'
import os, sys, random
from PIL import Image, ImageFilter
out, n = sys.argv[1], int(sys.argv[2]); os.makedirs(out); random.seed(1)
for i in range(n):
    im = Image.effect_noise((320, 240), 60).convert("RGB")
    r, g, b = [random.randint(0, 255) for _ in range(3)]
    im = Image.blend(im, Image.new("RGB", (320, 240), (r, g, b)), 0.5).filter(ImageFilter.SMOOTH)
    im.save(os.path.join(out, "img%05d.jpg" % i), quality=90)
PY
mkdir "$work/one" && cp "$work/images/img00000.jpg" "$work/one/"
java -cp "densenet-examples/target/densenet-examples-0.1.0-SNAPSHOT.jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" \
  tools/bench/RandomModel.java densenet121 "$work/densenet121.zip" 2>/dev/null
seconds() { local t0; t0=$(date +%s.%N); "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }; echo "$(date +%s.%N) - $t0" | bc; }
single_one=$(seconds ./densenet features --model "$work/densenet121.zip" --images "$work/one" --out "$work/one.csv" --batch 16)
single=$(seconds ./densenet features --model "$work/densenet121.zip" --images "$work/images" --out "$work/all.csv" --batch 16)
spark_one=$(seconds ./densenet spark-features --master 'local[2]' --model "$work/densenet121.zip" --images "$work/one" --out "$work/spark-one" --batch 16)
spark=$(seconds ./densenet spark-features --master 'local[2]' --model "$work/densenet121.zip" --images "$work/images" --out "$work/spark-all" --batch 16)
infer=$(./densenet benchmark --model densenet121 --mode infer --batch 16 --warmup 3 --iterations 5 --threads 2 2>/dev/null | tail -1 \
  | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')
/usr/bin/python3 - "$n" "$single_one" "$single" "$spark_one" "$spark" "$infer" <<'PY'
import sys
n, s1, s, p1, p, infer = int(sys.argv[1]), *map(float, sys.argv[2:])
per_single = (s - s1) / (n - 1) * 1000
per_spark = (p - p1) / (n - 1) * 1000
print(f"{n} images: features {s:.1f} s ({n / s:.1f} img/s), spark-features local[2] {p:.1f} s ({n / p:.1f} img/s): "
      f"efficiency {s / p:.2f}")
print(f"fixed costs (a one-image folder): features {s1:.1f} s, spark-features {p1:.1f} s")
print(f"per image beyond them: features {per_single:.1f} ms, spark-features {per_spark:.1f} ms "
      f"({per_single / per_spark:.2f}); DenseNet-121 inference alone {infer / 16:.1f} ms (batch 16)")
PY
rm -rf "$work"
