#!/usr/bin/env python3
"""Exports torchvision's DenseNet-121 (random weights, seed 0) to ONNX for tools/bench/OrtBench.java.

Usage: /usr/bin/python3 tools/bench/export_onnx.py OUT.onnx     (needs Debian's python3-torch)
The export is the one of ../shared/notes/anchors-2026-12.md: input "data" (N,3,224,224) with a
dynamic batch axis, output "prob", opset 13, eval mode. Timing does not depend on the weights.
"""
import sys

import torch
import torchvision

if len(sys.argv) != 2:
    raise SystemExit(__doc__)
torch.manual_seed(0)
torch.onnx.export(torchvision.models.densenet121().eval(), torch.rand(1, 3, 224, 224), sys.argv[1],
                  input_names=["data"], output_names=["prob"], dynamic_axes={"data": {0: "n"}},
                  opset_version=13)
print(sys.argv[1])
