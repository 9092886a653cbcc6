#!/usr/bin/env python3
"""The curves of a `densenet train` run and a torch_train_fashion.py run, side by side.

Usage: training_side_by_side.py DL4J_CURVES.csv TORCH_CURVES.csv
Prints a Markdown table: per epoch the test accuracy and the seconds of the training pass in
each framework, and the ratio of the seconds (DL4J / PyTorch); then the medians.
Both CSVs time the training pass alone (evaluation not included).
"""
import csv
import statistics
import sys


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit("%s: no epochs in it" % path)
    return {int(r["epoch"]): (float(r["test_accuracy"]), float(r["seconds"])) for r in rows}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[2])
    dl4j, torch = read(sys.argv[1]), read(sys.argv[2])
    epochs = sorted(set(dl4j) & set(torch))
    if not epochs:
        raise SystemExit("the two runs share no epoch")
    print("| epoch | DL4J test acc | PyTorch test acc | DL4J s | PyTorch s | ratio |")
    print("|---|---|---|---|---|---|")
    for e in epochs:
        (a, s), (ta, ts) = dl4j[e], torch[e]
        print("| %d | %.2f%% | %.2f%% | %s | %s | %.2f |" % (e, 100 * a, 100 * ta, f"{s:,.0f}", f"{ts:,.0f}", s / ts))
    ms = statistics.median(dl4j[e][1] for e in epochs)
    mt = statistics.median(torch[e][1] for e in epochs)
    print("| median | | | %s | %s | %.2f |" % (f"{ms:,.0f}", f"{mt:,.0f}", ms / mt))


if __name__ == "__main__":
    main()
