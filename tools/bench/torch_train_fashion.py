#!/usr/bin/env python3
"""`densenet train` on Fashion-MNIST, in PyTorch: the same architecture, schedule and augmentation.

Usage: torch_train_fashion.py --model SETTINGS.json|PRESET --epochs N --batch B [--lr 0.2]
                              [--threads 2] [--limit N] [--test-limit N] [--csv out.csv]
                              [--checkpoint FILE [--resume]]
Reads the IDX files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), scales
pixels to [0, 1], and trains with what `densenet train` uses:
  - SGD with Nesterov momentum 0.9, L2 1e-4 on convolution and dense weights;
  - DL4J's CycleSchedule as `densenet train` configures it (see `lr_at`): lr/10 up to lr over 45%
    of the iterations, back to lr/10 over the next 45%, then decaying to lr/1000;
  - a random horizontal flip (p = 1/2) and a random shift of up to 2 pixels per image, zero-filled;
  - test-set evaluation after each epoch.
Prints one line per epoch (loss, accuracy, test loss, test accuracy, seconds, images/s) and, at
the end, a JSON line. With --checkpoint, the state after each epoch (weights, optimiser, random
streams, rows so far) is written there (to a temporary file, then renamed); --resume continues
from it, as `densenet train --resume` does. The random streams differ from DL4J's, so accuracies agree statistically,
not bit for bit.
"""
import argparse
import csv
import gzip
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import DenseNet, spec_of  # noqa: E402

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:16 + n * rows * cols]), dtype=torch.uint8).view(n, 1, rows, cols)
    if magic == 2049:
        return torch.frombuffer(bytearray(data[8:8 + n]), dtype=torch.uint8).long()
    raise SystemExit("%s: not an IDX file (magic %d)" % (path, magic))


def find(directory, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise SystemExit("%s: no %s[.gz]; apt-get install dataset-fashion-mnist" % (directory, stem))


def load(directory, train, limit):
    prefix = "train" if train else "t10k"
    x = read_idx(find(directory, prefix + "-images-idx3-ubyte")).float() / 255.0
    y = read_idx(find(directory, prefix + "-labels-idx1-ubyte"))
    return (x[:limit], y[:limit]) if limit else (x, y)


def cycle_schedule(lr, iterations):
    """DL4J's CycleSchedule(ITERATION, lr/10, lr, iterations, round(iterations/10), 0.01^(1/that)), as `densenet train`."""
    if iterations < 20:
        return lambda i: lr
    annealing = int(iterations * 0.1 + 0.5)  # Java Math.round
    step = (iterations - annealing) // 2
    initial = lr / 10
    increment = (lr - initial) / step
    decay = 0.01 ** (1.0 / annealing)

    def lr_at(i):
        p = i % iterations
        if p < step:
            return initial + increment * p
        if p < 2 * step:
            return lr - increment * (p - step)
        return initial * decay ** (annealing - (iterations - p))
    return lr_at


def flip_and_shift(x, shift, gen):
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    padded = F.pad(x, (shift, shift, shift, shift))
    out = torch.empty_like(x)
    offsets = torch.randint(0, 2 * shift + 1, (n, 2), generator=gen)
    for i in range(n):
        dy, dx = offsets[i].tolist()
        out[i] = padded[i, :, dy:dy + h, dx:dx + w]
    return out


def checkpoint_args(args):
    """The settings a checkpoint must share with the run that resumes it."""
    return {k: getattr(args, k) for k in ("model", "epochs", "batch", "lr", "weight_decay", "seed", "limit")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--test-limit", type=int, default=0)
    ap.add_argument("--data-dir", default=DEBIAN_DIR)
    ap.add_argument("--csv")
    ap.add_argument("--checkpoint")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    if args.resume and not args.checkpoint:
        raise SystemExit("--resume needs --checkpoint FILE")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    xtr, ytr = load(args.data_dir, True, args.limit)
    xte, yte = load(args.data_dir, False, args.test_limit)
    spec = spec_of(args.model, 1)
    spec = spec[:6] + (10, 1)
    net = DenseNet(*spec)
    decayed = [p for n, p in net.named_parameters() if p.dim() > 1]
    others = [p for n, p in net.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decayed, "weight_decay": args.weight_decay},
                           {"params": others, "weight_decay": 0.0}], lr=args.lr, momentum=0.9, nesterov=True)
    n = len(ytr)
    per_epoch = (n + args.batch - 1) // args.batch
    lr_at = cycle_schedule(args.lr, per_epoch * args.epochs)
    params = sum(p.numel() for p in net.parameters())
    print("Training %s (%s parameters) in PyTorch %s, %d threads: %d training, %d test images, %d epochs of %d "
          "batches of %d" % (os.path.basename(args.model), format(params, ","), torch.__version__, args.threads, n,
                             len(yte), args.epochs, per_epoch, args.batch), flush=True)
    rows = []
    iteration = 0
    first = 1
    if args.resume and os.path.exists(args.checkpoint):
        state = torch.load(args.checkpoint)
        if state["args"] != checkpoint_args(args):
            raise SystemExit("%s: written by a run with other settings (%s)" % (args.checkpoint, state["args"]))
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["rng"])
        rows, iteration = state["rows"], state["iteration"]
        first = len(rows) + 1
        print("resuming after epoch %d from %s" % (len(rows), args.checkpoint), flush=True)
    for epoch in range(first, args.epochs + 1):
        net.train()
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        start = time.perf_counter()
        for it in range(per_epoch):
            idx = order[it * args.batch:(it + 1) * args.batch]
            x = flip_and_shift(xtr[idx], 2, gen)
            y = ytr[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(iteration)
            opt.zero_grad()
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            iteration += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        seconds = time.perf_counter() - start
        net.eval()
        test_loss, test_correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(yte), 256):
                logits = net(xte[i:i + 256])
                test_loss += F.cross_entropy(logits, yte[i:i + 256], reduction="sum").item()
                test_correct += (logits.argmax(1) == yte[i:i + 256]).sum().item()
        row = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n,
               "test_loss": test_loss / len(yte), "test_accuracy": test_correct / len(yte),
               "seconds": seconds, "images_per_second": n / seconds}
        rows.append(row)
        print("epoch %d/%d  loss %.4f  acc %.4f  test loss %.4f  test acc %.4f  %.0f s  %.0f img/s" % (
            epoch, args.epochs, row["train_loss"], row["train_accuracy"], row["test_loss"], row["test_accuracy"],
            seconds, row["images_per_second"]), flush=True)
        if args.checkpoint:
            tmp = args.checkpoint + ".tmp"
            torch.save({"args": checkpoint_args(args), "net": net.state_dict(), "opt": opt.state_dict(),
                        "gen": gen.get_state(), "rng": torch.get_rng_state(), "rows": rows,
                        "iteration": iteration}, tmp)
            os.replace(tmp, args.checkpoint)
    if args.csv:
        tmp = args.csv + ".tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, args.csv)
    print(json.dumps({"model": os.path.basename(args.model), "framework": "pytorch", "epochs": args.epochs,
                      "batch": args.batch, "test_accuracy": rows[-1]["test_accuracy"],
                      "median_epoch_s": sorted(r["seconds"] for r in rows)[len(rows) // 2]}))


if __name__ == "__main__":
    main()
