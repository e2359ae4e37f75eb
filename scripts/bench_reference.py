#!/usr/bin/env python
"""The reference plugin's prediction, rebuilt from its description for side-by-side timing.

Svetlana 1.6.1's defaults as issue 15 describes them, written here from that description
(no code of the GPL plugin is copied): the ``lightNN_3_5`` network (three 5 x 5
convolutions of 16 filters with padding 1, each followed by ReLU and 2 x 2 max-pooling, then
average pooling and a linear head), and its prediction loop: scikit-image ``regionprops``
for the objects, one patch per object cut around its centroid from the padded image plus
the object's own mask as an extra channel, per-patch min-max scaling, batches of 100, and
painting each object's pixels (``regionprops`` coordinates) with its class. The plugin
paints through joblib threads, one task per object; this loop does not, so it is faster
than the plugin there (the issue measured 0.06 ms per object for the plugin's painting),
and the ratios to it are conservative. Its weights are
random: the arithmetic, not the accuracy, is timed here (``scripts/bench_quality.py`` and
``scripts/bench_train_speed.py`` compare learning).

Used by ``scripts/bench_predict.py --reference``, which alternates it with
``phenosort predict`` on the same image and mask.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

BATCH = 100


class ReferenceNet(nn.Module):
    """``lightNN_3_5``: 3 blocks of Conv5x5(16, padding 1)-ReLU-MaxPool2, GAP, linear."""

    def __init__(self, in_channels: int, n_classes: int) -> None:
        super().__init__()
        layers, channels = [], in_channels
        for _ in range(3):
            layers += [nn.Conv2d(channels, 16, 5, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels = 16
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(16, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


def multiply_adds(net: nn.Module, patch: tuple[int, ...], in_channels: int) -> int:
    """Multiply-adds of one patch through ``net``'s convolutions and linear layers."""
    total = 0

    def count(module, _inputs, output):
        nonlocal total
        if isinstance(module, nn.modules.conv._ConvNd):
            per_output = module.in_channels // module.groups * int(np.prod(module.kernel_size))
            total += output[0].numel() * per_output
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    try:
        with torch.inference_mode():
            net.eval()(torch.zeros(1, in_channels, *patch))
    finally:
        for hook in hooks:
            hook.remove()
    return total


def predict_folder(
    images: list[Path], masks: list[Path], out: Path, net: nn.Module, patch: int = 32
) -> dict[str, float]:
    """Classify every object of each (grey 2D) image and write its class map; returns the
    (wall, CPU) seconds per stage (read, regions, patches, forward, painting, write); CPU
    time is all the process's threads, which a shared machine's load inflates far less."""
    import tifffile
    from skimage.measure import regionprops

    seconds = {
        s: [0.0, 0.0] for s in ("read", "regions", "patches", "forward", "painting", "write")
    }
    clock = _Clock(seconds)
    net = net.eval()
    half = patch // 2
    for image_path, mask_path in zip(images, masks):
        clock.start()
        image = tifffile.imread(image_path).astype(np.float32)
        labels = tifffile.imread(mask_path)
        clock.stop("read")

        clock.start()
        regions = regionprops(labels)
        padded_image = np.pad(image, half)
        padded_labels = np.pad(labels, half)
        clock.stop("regions")

        classes = np.zeros(len(regions), np.int64)
        for start in range(0, len(regions), BATCH):
            clock.start()
            items = [_patch(padded_image, padded_labels, r, patch) for r in regions[start:][:BATCH]]
            batch = torch.stack(items)  # what a DataLoader's default collate does
            clock.stop("patches")
            clock.start()
            with torch.inference_mode():
                probs = torch.softmax(net(batch), dim=1)
            classes[start : start + len(batch)] = probs.argmax(1).numpy()
            clock.stop("forward")

        clock.start()
        class_map = np.zeros(labels.shape, np.uint8)
        for region, cls in zip(regions, classes):  # the plugin paints each object's pixels
            coords = region.coords
            class_map[coords[:, 0], coords[:, 1]] = cls + 1
        clock.stop("painting")

        clock.start()
        out.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(out / f"{image_path.stem}_classes.tif", class_map, compression="zlib")
        clock.stop("write")
    return {stage: (wall, cpu) for stage, (wall, cpu) in seconds.items()}


def _patch(image: np.ndarray, labels: np.ndarray, region, patch: int) -> torch.Tensor:
    """One object's patch as the plugin's dataset item makes it: copies of the image and
    mask windows around the centroid, the mask binarised, the image min-max scaled, both
    stacked in a float64 (Y, X, C) array, then a float32 (C, Y, X) tensor."""
    cy, cx = (int(c) for c in region.centroid)
    window = np.s_[cy : cy + patch, cx : cx + patch]  # centred: the pad is half a patch
    pixels = image[window].copy()
    mask = labels[window].copy()
    mask[mask != region.label] = 0
    mask[mask == region.label] = 1
    low, high = pixels.min(), pixels.max()
    pixels = (pixels - low) / (high - low) if high > low else pixels * 0
    item = np.zeros((*pixels.shape, 2))
    item[..., 0] = pixels
    item[..., 1] = mask
    return torch.from_numpy(item.astype(np.float32).transpose(2, 0, 1).copy())


class _Clock:
    """Adds the wall and CPU seconds since :meth:`start` to a stage's totals."""

    def __init__(self, seconds: dict[str, list[float]]) -> None:
        self.seconds, self.t = seconds, (0.0, 0.0)

    def start(self) -> None:
        self.t = (time.perf_counter(), time.process_time())

    def stop(self, stage: str) -> None:
        self.seconds[stage][0] += time.perf_counter() - self.t[0]
        self.seconds[stage][1] += time.process_time() - self.t[1]
