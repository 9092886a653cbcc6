#!/usr/bin/env python3
"""PyTorch's time for the convolutions that ConvOps.java timed in libnd4j, shape by shape.

Usage: torch_conv_ops.py conv-ops.json [--warmup 3] [--iterations 10] [--threads 2]
Reads the JSON that ConvOps.java wrote (every convolution of a DenseNet preset with its input and
weight shapes and libnd4j's median ms), times the same convolution in PyTorch (forward in infer
mode; gradients of input and weights, as libnd4j's conv2d_bp computes them, in train mode) and
prints the sums by kind of convolution and the ratio libnd4j / PyTorch. Needs Debian's python3-torch.
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F

from torch_bench import timed_ms


def kind(conv):
    kh = conv["weights"][2]
    if conv["name"].endswith("_blk"):
        return "transition 1x1"
    if kh == 1:
        return "bottleneck 1x1"
    if kh == 3 and conv["stride"] == 1:
        return "3x3"
    return "stem %dx%d/%d" % (kh, conv["weights"][3], conv["stride"])


def torch_ms(conv, train, warmup, iterations):
    x = torch.rand(conv["input"])
    w = torch.rand(conv["weights"]) - 0.5
    stride, pad = conv["stride"], conv["pad"]
    if train:
        y = F.conv2d(x, w, stride=stride, padding=pad)
        grad_out = torch.rand(y.shape)

        def run():
            torch.ops.aten.convolution_backward(grad_out, x, w, None, [stride] * 2, [pad] * 2, [1, 1], False,
                                                [0, 0], 1, [True, True, False])
    else:
        def run():
            with torch.no_grad():
                F.conv2d(x, w, stride=stride, padding=pad)
    return statistics.median(timed_ms(run, warmup, iterations))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ops", help="the JSON file ConvOps.java wrote")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.ops) as f:
        ops = json.load(f)
    train = ops["mode"] == "train"
    sums = {}
    for conv in ops["convs"]:
        row = sums.setdefault(kind(conv), [0, 0.0, 0.0])
        row[0] += 1
        row[1] += conv["ms"]
        row[2] += torch_ms(conv, train, args.warmup, args.iterations)
    op = "conv2d_bp / convolution_backward" if train else "conv2d / F.conv2d"
    print("%s batch %d, %s, sums of per-shape medians (ms), %d threads"
          % (ops["model"], ops["batch"], op, args.threads))
    print("| convolutions | count | libnd4j ms | PyTorch ms | ratio |")
    print("|---|---|---|---|---|")
    total = [0, 0.0, 0.0]
    for name, (count, nd4j, pt) in sorted(sums.items()):
        print("| %s | %d | %.1f | %.1f | %.2f |" % (name, count, nd4j, pt, nd4j / pt))
        total = [total[0] + count, total[1] + nd4j, total[2] + pt]
    print("| all | %d | %.1f | %.1f | %.2f |" % (total[0], total[1], total[2], total[1] / total[2]))


if __name__ == "__main__":
    main()
