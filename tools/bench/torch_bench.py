#!/usr/bin/env python3
"""The PyTorch side of DenseNet4J's benchmarks: the same DenseNet graphs, timed the same way.

Usage: torch_bench.py --model densenet121|SETTINGS.json --mode infer|train --batch 8 --input 224x224[xC]
                      [--warmup 2] [--iterations 5] [--threads 2] [--channels-last] [--memory-efficient]
Prints a table line and a final JSON line with the keys `densenet benchmark` prints, so that the
two can be compared as a ratio. Needs Debian's python3-torch.

The graph is torchvision-style DenseNet-BC (BN-ReLU-1x1-BN-ReLU-3x3, concatenation, transitions
with 2x2 average pooling), with the zoo presets' sizes; weights are random (timing does not depend
on their values). Training is one SGD step with softmax cross-entropy, as `densenet benchmark` trains:
Nesterov momentum 0.9 and L2 1e-4 on the convolution and dense weights (the zoo's default weight
decay).
--channels-last puts the model and the input in torch.channels_last memory format (PyTorch's fastest
CPU configuration here; the JSON line then has "layout": "channels_last"); the default stays NCHW.
--torchvision runs torchvision's own DenseNet class with the preset's sizes instead: with
channels_last its training step is faster than this script's graph (DenseNet-121 batch 8 on
2026-12-01: 960 ms against 1,337-1,909 ms), so it is the peer to beat. --memory-efficient runs it
with memory_efficient=True (Pleiss et al.'s checkpointing: BN-ReLU-1x1 over the concatenated
features recomputed in the backward pass).
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    # id: (growth, initial filters, blocks, bottleneck, compression, stem, classes, channels)
    "densenet121": (32, 64, [6, 12, 24, 16], True, 0.5, "imagenet", 1000, 3),
    "densenet161": (48, 96, [6, 12, 36, 24], True, 0.5, "imagenet", 1000, 3),
    "densenet169": (32, 64, [6, 12, 32, 32], True, 0.5, "imagenet", 1000, 3),
    "densenet201": (32, 64, [6, 12, 48, 32], True, 0.5, "imagenet", 1000, 3),
    "densenet-bc100-k12": (12, 24, [16, 16, 16], True, 0.5, "cifar", 10, 3),
    "densenet40-k12": (12, 16, [12, 12, 12], False, 1.0, "cifar", 10, 3),
    "densenet-fmnist": (12, 24, [6, 6, 6], True, 0.5, "cifar", 10, 1),
}


# The keys of the JSON settings files `densenet` reads, with DenseNetConfig's defaults (DenseNet-121's).
JSON_DEFAULTS = {"growthRate": 32, "initialFilters": 64, "blockLayers": [6, 12, 24, 16], "bottleneck": True,
                 "compression": 0.5, "stem": "IMAGENET", "numClasses": 1000}
JSON_IGNORED = {"weightDecay", "bnEpsilon", "dropoutRate", "convBias", "bottleneckWidth", "reduction"}


def spec_of(model, channels=3):
    """The architecture tuple of a preset id or of a JSON settings file (as `densenet --model x.json`)."""
    if not model.endswith(".json"):
        return PRESETS[model]
    with open(model) as f:
        settings = json.load(f)
    unknown = set(settings) - set(JSON_DEFAULTS) - JSON_IGNORED
    if unknown:
        raise SystemExit("%s: settings this script does not model: %s" % (model, sorted(unknown)))
    if settings.get("bottleneckWidth", 4) != 4 or settings.get("dropoutRate", 0) != 0 or settings.get("convBias"):
        raise SystemExit("%s: bottleneckWidth, dropoutRate and convBias must keep their defaults here" % model)
    s = dict(JSON_DEFAULTS, **settings)
    compression = 1.0 - settings["reduction"] if "reduction" in settings else s["compression"]
    return (s["growthRate"], s["initialFilters"], list(s["blockLayers"]), s["bottleneck"], compression,
            s["stem"].lower(), s["numClasses"], channels)


class DenseLayer(nn.Module):
    def __init__(self, cin, growth, bottleneck):
        super().__init__()
        self.bottleneck = bottleneck
        if bottleneck:
            self.bn1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
            cin = 4 * growth
        self.bn2 = nn.BatchNorm2d(cin)
        self.conv2 = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x):
        y = x
        if self.bottleneck:
            y = self.conv1(F.relu(self.bn1(y)))
        y = self.conv2(F.relu(self.bn2(y)))
        return torch.cat([x, y], 1)


class DenseNet(nn.Module):
    def __init__(self, growth, filters, blocks, bottleneck, compression, stem, classes, channels):
        super().__init__()
        layers = []
        if stem == "imagenet":
            layers += [nn.Conv2d(channels, filters, 7, 2, 3, bias=False), nn.BatchNorm2d(filters), nn.ReLU(),
                       nn.MaxPool2d(3, 2, 1)]
        else:
            layers += [nn.Conv2d(channels, filters, 3, 1, 1, bias=False)]
        c = filters
        for i, n in enumerate(blocks):
            for _ in range(n):
                layers.append(DenseLayer(c, growth, bottleneck))
                c += growth
            if i < len(blocks) - 1:
                out = int(c * compression)
                layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, out, 1, bias=False), nn.AvgPool2d(2, 2)]
                c = out
        layers += [nn.BatchNorm2d(c), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def timed_ms(step, warmup, iterations):
    """Milliseconds of each of `iterations` calls of step(), after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="densenet121", help="preset id (%s) or JSON settings file" % ", ".join(PRESETS))
    ap.add_argument("--mode", default="infer", choices=["infer", "train"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--input", default="224x224")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true", help="model and input in torch.channels_last")
    ap.add_argument("--torchvision", action="store_true",
                    help="torchvision's own DenseNet class with the preset's sizes (ImageNet-stem presets): faster "
                         "than this script's graph in channels_last, so the peer to compare with")
    ap.add_argument("--memory-efficient", action="store_true",
                    help="torchvision's DenseNet with memory_efficient=True (checkpointed BN-ReLU-1x1 over the "
                         "concatenated features; ImageNet-stem presets only)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dims = [int(v) for v in args.input.lower().split("x")]
    h, w = dims[:2]
    spec = spec_of(args.model, dims[2] if len(dims) == 3 else 3)
    if len(dims) == 3 and not args.model.endswith(".json"):
        spec = spec[:7] + (dims[2],)
    if args.memory_efficient or args.torchvision:
        import torchvision
        growth, filters, blocks, bottleneck, compression, stem, classes, _ = spec
        if stem != "imagenet" or not bottleneck or compression != 0.5:
            raise SystemExit("--torchvision/--memory-efficient run torchvision's DenseNet: an ImageNet-stem "
                             "DenseNet-BC preset")
        net = torchvision.models.DenseNet(growth_rate=growth, block_config=tuple(blocks), num_init_features=filters,
                                          num_classes=classes, memory_efficient=args.memory_efficient)
    else:
        net = DenseNet(*spec)
    x = torch.rand(args.batch, spec[7], h, w)
    y = torch.randint(0, spec[6], (args.batch,))
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    if args.mode == "infer":
        net.eval()

        def step():
            with torch.no_grad():
                net(x)
    else:
        net.train()
        decayed = [p for p in net.parameters() if p.dim() > 1]  # convolution and dense weights
        others = [p for p in net.parameters() if p.dim() <= 1]
        opt = torch.optim.SGD([{"params": decayed, "weight_decay": 1e-4}, {"params": others, "weight_decay": 0.0}],
                              lr=0.01, momentum=0.9, nesterov=True)

        def step():
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
    times = timed_ms(step, args.warmup, args.iterations)
    median = statistics.median(times)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = os.path.basename(args.model)[:-5] if args.model.endswith(".json") else args.model
    print("%-12s %-6s %5d %9s %10.1f %10.1f %12.1f  peak RSS %.0f MB" % (
        name, args.mode, args.batch, args.input, median, min(times),
        args.batch * 1000 / median, rss_mb))
    print(json.dumps({"model": name, "mode": args.mode, "batch": args.batch, "input": args.input,
                      "median_ms": round(median, 2), "min_ms": round(min(times), 2),
                      "images_per_s": round(args.batch * 1000 / median, 2), "backend": "pytorch-cpu",
                      "peak_rss_mb": round(rss_mb), **({"layout": "channels_last"} if args.channels_last else {}),
                      **({"memory_efficient": True} if args.memory_efficient else {}),
                      **({"graph": "torchvision"} if args.memory_efficient or args.torchvision else {})}))


if __name__ == "__main__":
    main()
