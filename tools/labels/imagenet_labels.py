#!/usr/bin/env python3
"""Writes the 1000 ImageNet class names, in class-index order, one per line.

The names are those torchvision ships (Debian package python3-torchvision, BSD-3-Clause licence);
the output is DenseNet4J's resource org/densenet4j/preprocess/imagenet_labels.txt.
Usage: imagenet_labels.py > densenet-keras-import/src/main/resources/org/densenet4j/preprocess/imagenet_labels.txt
"""
import importlib.util
import pathlib

import torchvision

meta = pathlib.Path(torchvision.__file__).parent / "models" / "_meta.py"
spec = importlib.util.spec_from_file_location("tv_meta", meta)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
names = module._IMAGENET_CATEGORIES
assert len(names) == 1000, len(names)
for n in names:
    print(n)
