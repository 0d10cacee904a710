"""The images the receptive-field view looks at: CIFAR-10 test images when the
dataset is on disk, else a synthetic test pattern made with numpy."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

SYNTHETIC_LABEL = "synthetic test pattern (CIFAR-10 not found)"


def synthetic_pattern(channels: int, height: int, width: int, variant: int = 0) -> np.ndarray:
    """A uint8 C×H×W pattern with structure at several scales: a checkerboard
    of 4-pixel squares, concentric circles and a grid line every 8 pixels, so
    that fields and strides are easy to read against it."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    checker = ((y // 4 + x // 4 + variant) % 2).astype(np.float64)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    r = np.hypot(y - cy, x - cx)
    rings = 0.5 + 0.5 * np.cos(r * (0.9 + 0.15 * variant))
    grid = ((y % 8 == 0) | (x % 8 == 0)).astype(np.float64)
    grey = 0.25 + 0.3 * checker + 0.25 * rings
    base = [grey, grey + 0.05 * rings, grey + 0.15 * rings]   # muted: overlays stay readable
    chans = []
    for c in range(channels):
        v = base[c % 3] * (1 - grid) + grid * 0.85
        chans.append(v)
    return np.clip(np.stack(chans) * 255, 0, 255).astype(np.uint8)


@dataclass
class ImageSet:
    """Images (uint8 N×C×H×W), their labels and a description for the view."""
    images: np.ndarray
    labels: list[str]
    source: str
    synthetic: bool

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def fit(self, channels: int, height: int, width: int, index: int) -> np.ndarray:
        """Image `index` resized to the design's input (nearest neighbour, channel
        repeat or mean) so any input size can be explored."""
        img = self.images[index % len(self)]
        if img.shape[0] != channels:
            if channels == 1:
                img = img.mean(axis=0, keepdims=True).astype(np.uint8)
            else:
                img = np.stack([img[c % img.shape[0]] for c in range(channels)])
        h, w = img.shape[1:]
        if (h, w) != (height, width):
            rows = (np.arange(height) * h // height).clip(0, h - 1)
            cols = (np.arange(width) * w // width).clip(0, w - 1)
            img = img[:, rows][:, :, cols]
        return np.ascontiguousarray(img)


def synthetic_set(count: int = 4) -> ImageSet:
    images = np.stack([synthetic_pattern(3, 32, 32, v) for v in range(count)])
    return ImageSet(images, [f"pattern {v + 1}" for v in range(count)], SYNTHETIC_LABEL, True)


def load_test_images(data_dir: str | os.PathLike[str] | None) -> ImageSet | None:
    """CIFAR-10's test batch (only that file is read), or None when the dataset
    is not there. Imports torch (via designer.nn.data): call it off the GUI thread."""
    from designer.nn import data
    folder = data.find_cifar10(data_dir)
    if folder is None:
        return None
    x, y = data.read_batch(folder / data.TEST_FILE)
    names = list(data.CIFAR_CLASSES)
    labels = [names[int(v)] if 0 <= int(v) < len(names) else str(int(v)) for v in y.tolist()]
    return ImageSet(x.numpy(), labels, f"CIFAR-10 test images ({folder})", False)
