#!/usr/bin/python3
"""PyTorch's side of `densenet compare`: d2l's ResNet-18 or DenseNet trained as the book's
`train_ch6` trains them, on the same Fashion-MNIST records, printing the same per-epoch figures.

The networks are those of tools/fixtures/make_zoo_fixtures.py (d2l-en v0.17.6, pytorch tab). The
training follows d2l's `train_ch6` (d2l-en v0.17.6, chapter_convolutional-neural-networks/lenet.md):
Xavier-uniform initialisation of every Conv2d and Linear, plain SGD at the given rate,
`nn.CrossEntropyLoss`, the test accuracy in `net.eval()` after each epoch; the data is the book's
`load_data_fashion_mnist(batch, resize=96)`: torchvision's `Resize(96)` on the PIL image, then
`ToTensor()`, the training set shuffled each epoch. `--limit N` takes the first N training
records, as `densenet compare --limit N` does. channels_last and 2 threads: PyTorch's fastest CPU
configuration here.

Usage: torch_d2l_compare.py --arch densenet-d2l --lr 0.1 [--limit 20000] [--epochs 10] [--batch 256]
       [--size 96] [--seed 42] [--data-dir /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import os
import resource
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_zoo_fixtures import CLASSIFIERS  # noqa: E402


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load(data_dir, split, limit, size):
    prefix = "train" if split == "train" else "t10k"
    def find(kind):
        for name in (f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz",
                     f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"):
            p = os.path.join(data_dir, name)
            if os.path.exists(p):
                return p
        raise SystemExit(f"{data_dir}: no {prefix} {kind} file")
    images = read_idx(find("images"))
    labels = read_idx(find("labels"))
    if limit:
        images, labels = images[:limit], labels[:limit]
    t = transforms.Compose([transforms.Resize(size), transforms.ToTensor()])
    x = torch.stack([t(Image.fromarray(im, mode="L")) for im in images])
    return x, torch.from_numpy(labels.astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=sorted(CLASSIFIERS))
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    train_x, train_y = load(args.data_dir, "train", args.limit, args.size)
    test_x, test_y = load(args.data_dir, "test", 0, args.size)
    net = CLASSIFIERS[args.arch](in_channels=1, classes=10)

    def xavier(m):  # d2l's train_ch6
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
    net.apply(xavier)
    net = net.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in net.parameters())
    print(f"{args.arch} (PyTorch {torch.__version__}, {params:,} parameters, lr {args.lr}): "
          f"{len(train_x):,} training, {len(test_x):,} test images at {args.size}x{args.size}, "
          f"{args.epochs} epochs of batches of {args.batch}, {args.threads} threads, channels_last", flush=True)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    print("epoch,train_loss,train_accuracy,test_accuracy,seconds,images_per_s", flush=True)
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(train_x))
        loss_sum, correct = 0.0, 0
        start = time.perf_counter()
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            x = train_x[idx].contiguous(memory_format=torch.channels_last)
            y = train_y[idx]
            opt.zero_grad()
            out = net(x)
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
        seconds = time.perf_counter() - start
        net.eval()
        hits = 0
        with torch.no_grad():
            for i in range(0, len(test_x), args.batch):
                x = test_x[i:i + args.batch].contiguous(memory_format=torch.channels_last)
                hits += (net(x).argmax(1) == test_y[i:i + args.batch]).sum().item()
        n = len(train_x)
        print(f"{epoch},{loss_sum / n:.4f},{correct / n:.4f},{hits / len(test_x):.4f},{seconds:.1f},"
              f"{n / seconds:.1f}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
