"""What a run trains on, in words, without importing torch: a design whose
input is not 2-D trains on synthetic data of its shape (designer.nn.train_setup
decides; the label here is the one its Dataset carries)."""
from __future__ import annotations

import numpy as np

CLASSES_DEFAULT, CLASSES_LEAST, CLASSES_MOST = 10, 2, 24   # as nn.train_setup


def nd_dataset_label(input_shape: tuple[int, ...],
                     output_shape: tuple[int, ...] | None) -> str | None:
    """"Synthetic 1-D signals (4 classes; not real data)" for a 1-D or 3-D
    design, None for a 2-D one (it trains on the chosen dataset)."""
    if len(tuple(input_shape)) == 3:
        return None
    out = tuple(output_shape or ())
    classes = out[0] if len(out) == 1 and CLASSES_LEAST <= out[0] <= CLASSES_MOST \
        else CLASSES_DEFAULT
    what = "1-D signals" if len(tuple(input_shape)) == 2 else "3-D clips of moving shapes"
    return f"Synthetic {what} ({classes} classes; not real data)"


def nd_dataset_text(input_shape: tuple[int, ...],
                    output_shape: tuple[int, ...] | None) -> str | None:
    label = nd_dataset_label(input_shape, output_shape)
    if label is None:
        return None
    rank = len(tuple(input_shape)) - 1
    return (f"This {rank}-D design trains on {label[0].lower()}{label[1:]} of its input "
            "shape, whatever the dataset setting: CIFAR-10 is 2-D.")


def thumbnail(sample: np.ndarray, height: int = 32) -> np.ndarray:
    """A test sample as a uint8 C×H×W picture: an image as it is, a 3-D clip's
    middle slice, a 1-D signal's first channel drawn as a curve."""
    a = np.asarray(sample)
    if a.ndim == 4:
        return a[:, a.shape[1] // 2]
    if a.ndim != 2:
        return a
    sig = a[0].astype(np.float64)
    width = min(len(sig), 128)
    xs = np.linspace(0, len(sig) - 1, width).round().astype(int)
    rows = ((1 - sig[xs] / 255.0) * (height - 1)).round().astype(int)
    img = np.full((3, height, width), 245, np.uint8)
    img[:, height // 2, :] = 210
    lo = np.minimum(rows, np.roll(rows, 1))
    hi = np.maximum(rows, np.roll(rows, 1))
    lo[0] = hi[0] = rows[0]
    for x in range(width):           # a connected line, column by column
        img[0, lo[x]:hi[x] + 1, x] = 31
        img[1, lo[x]:hi[x] + 1, x] = 78
        img[2, lo[x]:hi[x] + 1, x] = 121
    return img


ND_BYTES = 256 * 2**20    # as nn.train_setup.SYNTHETIC_ND_BYTES


def nd_counts(train_limit: int | None, test_limit: int | None,
              input_shape: tuple[int, ...]) -> tuple[int, int] | None:
    """(train, test) samples of a 1-D / 3-D design's synthetic set (as
    nn.train_setup.synthetic_nd_sizes); None for a 2-D design."""
    if len(tuple(input_shape)) == 3:
        return None
    per = max(1, int(np.prod(input_shape)))
    train = min(10000, max(200, ND_BYTES // per))
    test = min(2000, max(50, train // 5))
    return train_limit or train, test_limit or test
