#!/usr/bin/env python3
"""How training memory grows with the batch: DenseNet-121 224x224, one SGD step, peak RSS and step
time at each batch size, this project's two modes beside PyTorch's two (torchvision-style default
and torchvision's memory_efficient=True, both channels_last, PyTorch's fastest CPU layout), 2 threads
each, each run a fresh process. Prints a Markdown table and writes a PNG plot.

Usage: /usr/bin/python3 tools/bench/memory_growth.py [--batches 8,16,32,64] [--warmup 1] [--iterations 2]
                        [--png FILE] [--json FILE]      (the measurements as JSON, to plot again)
       /usr/bin/python3 tools/bench/memory_growth.py --replot FILE.json --png FILE
Needs Debian's python3-torch and python3-pil (both for /usr/bin/python3).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERIES = [
    ("DenseNet4J default", ["./densenet", "benchmark"], []),
    ("DenseNet4J --memory-efficient", ["./densenet", "benchmark"], ["--memory-efficient"]),
    ("PyTorch channels_last", ["/usr/bin/python3", "tools/bench/torch_bench.py"], ["--channels-last", "--torchvision"]),
    ("PyTorch memory_efficient, channels_last", ["/usr/bin/python3", "tools/bench/torch_bench.py"],
     ["--channels-last", "--memory-efficient"]),
]
COLOURS = [(31, 119, 180), (44, 160, 44), (214, 39, 40), (255, 127, 14)]


def run(command, extra, batch, warmup, iterations):
    args = command + ["--model", "densenet121", "--mode", "train", "--batch", str(batch), "--input", "224x224",
                      "--warmup", str(warmup), "--iterations", str(iterations), "--threads", "2"] + extra
    env = dict(os.environ, OMP_NUM_THREADS="2")
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stdout + out.stderr)
        return None
    return json.loads(lines[-1])


def plot(path, batches, results):
    from PIL import Image, ImageDraw
    w, h, left, bottom, top, right = 900, 520, 80, 60, 40, 330
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    peak = max(r["peak_rss_mb"] for rs in results.values() for r in rs if r) * 1.1
    x0, x1, y0, y1 = left, w - right, h - bottom, top
    sx = lambda b: x0 + (x1 - x0) * (b - batches[0]) / (batches[-1] - batches[0])
    sy = lambda mb: y0 - (y0 - y1) * mb / peak
    d.line([(x0, y0), (x1, y0)], fill="black")
    d.line([(x0, y0), (x0, y1)], fill="black")
    for b in batches:
        d.line([(sx(b), y0), (sx(b), y0 + 5)], fill="black")
        d.text((sx(b) - 6, y0 + 10), str(b), fill="black")
    step = 1000 if peak > 4000 else 500
    for mb in range(0, int(peak) + 1, step):
        d.line([(x0 - 5, sy(mb)), (x0, sy(mb))], fill="black")
        d.text((x0 - 60, sy(mb) - 6), "%d MB" % mb, fill="black")
    d.text((x0 + 120, y0 + 32), "batch size (DenseNet-121 224x224, one SGD step, 2 threads)", fill="black")
    d.text((x0, 12), "peak RSS", fill="black")
    for k, (name, rs) in enumerate(results.items()):
        pts = [(sx(b), sy(r["peak_rss_mb"])) for b, r in zip(batches, rs) if r]
        if len(pts) > 1:
            d.line(pts, fill=COLOURS[k], width=3)
        for p in pts:
            d.ellipse([p[0] - 4, p[1] - 4, p[0] + 4, p[1] + 4], fill=COLOURS[k])
        d.line([(x1 + 20, top + 20 + 24 * k), (x1 + 50, top + 20 + 24 * k)], fill=COLOURS[k], width=3)
        d.text((x1 + 58, top + 14 + 24 * k), name, fill="black")
    img.save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="8,16,32,64")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=2)
    ap.add_argument("--png", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--replot", default=None)
    args = ap.parse_args()
    if args.replot:
        with open(args.replot) as f:
            saved = json.load(f)
        plot(args.png, saved["batches"], saved["results"])
        return
    batches = [int(b) for b in args.batches.split(",")]
    results = {name: [] for name, _, _ in SERIES}
    for b in batches:
        for name, command, extra in SERIES:
            sys.stderr.write("memory_growth: %s, batch %d\n" % (name, b))
            results[name].append(run(command, extra, b, args.warmup, args.iterations))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batches": batches, "results": results}, f, indent=1)
    print("| batch | " + " | ".join("%s: peak RSS MB / step ms" % n for n, _, _ in SERIES) + " | DenseNet4J planned MB (default / memory-efficient) |")
    print("|---" * (len(SERIES) + 2) + "|")
    for i, b in enumerate(batches):
        cells = []
        for name, _, _ in SERIES:
            r = results[name][i]
            cells.append("%s / %s" % ("{:,}".format(r["peak_rss_mb"]), "{:,.0f}".format(r["median_ms"])) if r else "failed")
        plans = ["{:,}".format(results[n][i]["planned_mb"]) if results[n][i] and "planned_mb" in results[n][i] else "-"
                 for n in ("DenseNet4J default", "DenseNet4J --memory-efficient")]
        print("| %d | %s | %s |" % (b, " | ".join(cells), " / ".join(plans)))
    print()
    for name, _, _ in SERIES:
        rs = [(b, r) for b, r in zip(batches, results[name]) if r]
        if len(rs) > 1:
            slope = (rs[-1][1]["peak_rss_mb"] - rs[0][1]["peak_rss_mb"]) / (rs[-1][0] - rs[0][0])
            print("- %s: %.1f MB per image (batch %d to %d)" % (name, slope, rs[0][0], rs[-1][0]))
    if args.png:
        plot(args.png, batches, results)


if __name__ == "__main__":
    main()
