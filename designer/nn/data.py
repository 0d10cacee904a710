"""Datasets held as whole uint8 tensors: CIFAR-10 (python folder) and a
synthetic stand-in. Download lives in data_download.py, the synthetic
generator in data_synthetic.py; this module is the public entry point."""
from __future__ import annotations

import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
ALL_FILES = TRAIN_FILES + [TEST_FILE, META_FILE]
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]
CIFAR_LABEL = "CIFAR-10"
SYNTHETIC_LABEL = "Synthetic (not real data)"
OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"


class DatasetError(ValueError):
    """A dataset that is missing, corrupt or cannot be fetched (plain message)."""


@dataclass
class Dataset:
    train_x: torch.Tensor           # uint8 N x C x H x W
    train_y: torch.Tensor           # int64 N
    test_x: torch.Tensor
    test_y: torch.Tensor
    class_names: list[str]
    label: str                      # shown everywhere: "CIFAR-10" or "Synthetic (not real data)"
    synthetic: bool = False

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """C x H x W (C x L for 1-D signals, C x D x H x W for 3-D clips)."""
        return tuple(self.train_x.shape[1:])

    def mean_std(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images, in [0, 1] units."""
        x = self.train_x[:max(1, 20000 * 3072 // max(1, self.train_x[0].numel()))]
        x = x.to(torch.float64) / 255.0
        dims = (0,) + tuple(range(2, x.dim()))
        mean = x.mean(dim=dims)
        std = x.std(dim=dims).clamp_min(1e-3)
        return mean.tolist(), std.tolist()

    def limited(self, train: int | None, test: int | None) -> "Dataset":
        """The first `train` / `test` images (quick runs)."""
        tx, ty, sx, sy = self.train_x, self.train_y, self.test_x, self.test_y
        if train:
            tx, ty = tx[:train], ty[:train]
        if test:
            sx, sy = sx[:test], sy[:test]
        return Dataset(tx, ty, sx, sy, list(self.class_names), self.label, self.synthetic)


def default_data_dir() -> Path:
    """$CNN_DESIGNER_DATA, else the platform's per-user data folder."""
    env = os.environ.get("CNN_DESIGNER_DATA")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "cnn-designer" / "data"


def find_cifar10(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """The cifar-10-batches-py folder under data_dir (or data_dir itself) when
    every file is there and not empty; None otherwise."""
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    for folder in (root / FOLDER, root):
        if all((folder / name).is_file() and (folder / name).stat().st_size > 0
               for name in ALL_FILES):
            return folder
    return None


def cifar10_incomplete(data_dir: str | os.PathLike[str] | None) -> str | None:
    """When a CIFAR-10 folder is there but find_cifar10 refuses it: which file
    is missing or empty, in words; None when it is complete or absent."""
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    if find_cifar10(root) is not None:
        return None
    base = root / FOLDER if (root / FOLDER).is_dir() else root
    missing = [n for n in ALL_FILES if not (base / n).is_file()]
    empty = [n for n in ALL_FILES if (base / n).is_file() and (base / n).stat().st_size == 0]
    if (root / FOLDER).is_dir() or (missing and len(missing) < len(ALL_FILES)):
        what = (f"{base / missing[0]} is missing" if missing else f"{base / empty[0]} is empty")
        more = len(missing) + len(empty) - 1
        return (f"the CIFAR-10 folder {base} is incomplete: {what}"
                + (f" (and {more} more file{'s' if more > 1 else ''})" if more > 0 else ""))
    return None


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR batches (dicts of numpy arrays) and nothing else, so
    a crafted file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict[Any, Any]:
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing") from None
    except OSError as e:
        raise DatasetError(f"{path} cannot be read: {e.strerror or e}") from None
    except Exception as e:  # truncated or foreign pickles raise many kinds
        raise DatasetError(f"{path} is corrupt or not a CIFAR-10 file ({e or type(e).__name__}); "
                           "delete the folder and download it again") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{path} is not a CIFAR-10 file (no dictionary inside)")
    return obj


def _get(entry: dict[Any, Any], key: str) -> Any:
    return entry.get(key.encode(), entry.get(key))


def read_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 N x 3 x 32 x 32, int64 N) from one CIFAR-10 batch file."""
    entry = _unpickle(path)
    data, labels = _get(entry, "data"), _get(entry, "labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        raise DatasetError(f"{path} is corrupt: its images are not an N x 3072 uint8 array")
    if not isinstance(labels, (list, np.ndarray)) or len(labels) != len(data):
        raise DatasetError(f"{path} is corrupt: {len(data)} images but "
                           f"{len(labels) if hasattr(labels, '__len__') else 'no'} labels")
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if len(y) and (int(y.min()) < 0 or int(y.max()) > 9):
        raise DatasetError(f"{path} is corrupt: labels outside 0..9")
    x = torch.from_numpy(np.ascontiguousarray(data).reshape(-1, 3, 32, 32).copy())
    return x, y


def _class_names(folder: Path) -> list[str]:
    entry = _unpickle(folder / META_FILE)
    names = _get(entry, "label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise DatasetError(f"{folder / META_FILE} is corrupt: expected 10 class names")
    return [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in names]


def load_cifar10(data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """CIFAR-10 from data_dir (or the default folder) into memory."""
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    folder = find_cifar10(root)
    if folder is None:
        incomplete = cifar10_incomplete(root)
        if incomplete is not None:
            raise DatasetError(f"{incomplete}; delete the folder and download it again")
        raise DatasetError(f"CIFAR-10 is not in {root} (expected {root / FOLDER}); "
                           "download it or choose the folder that holds it")
    parts = [read_batch(folder / name) for name in TRAIN_FILES]
    test_x, test_y = read_batch(folder / TEST_FILE)
    return Dataset(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]),
                   test_x, test_y, _class_names(folder), CIFAR_LABEL)


def synthetic_dataset(train_size: int = 5000, test_size: int = 1000, seed: int = 0) -> Dataset:
    from designer.nn.data_synthetic import generate
    train_x, train_y = generate(train_size, seed * 2 + 1)
    test_x, test_y = generate(test_size, seed * 2 + 2)
    return Dataset(train_x, train_y, test_x, test_y,
                   [f"pattern {i}" for i in range(10)], SYNTHETIC_LABEL, synthetic=True)


def synthetic_nd_dataset(shape: tuple[int, ...], classes: int, train_size: int,
                         test_size: int, seed: int = 0) -> Dataset:
    """Synthetic 1-D signals (shape C x L) or 3-D clips (C x D x H x W)."""
    from designer.nn import data_synthetic_nd as nd
    shape = tuple(int(v) for v in shape)
    train_x, train_y = nd.generate(shape, train_size, classes, seed * 2 + 1)
    test_x, test_y = nd.generate(shape, test_size, classes, seed * 2 + 2)
    return Dataset(train_x, train_y, test_x, test_y, nd.class_names(shape, classes),
                   synthetic_nd_label(shape, classes), synthetic=True)


def synthetic_nd_label(shape: tuple[int, ...], classes: int) -> str:
    what = "1-D signals" if len(shape) == 2 else "3-D clips of moving shapes"
    return f"Synthetic {what} ({classes} classes; not real data)"


def download_cifar10(data_dir: str | os.PathLike[str] | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     url: str = OFFICIAL_URL, md5: str | None = OFFICIAL_MD5) -> Path:
    """Download, verify (md5) and extract CIFAR-10 into data_dir; the folder.
    progress(done_bytes, total_bytes or 0); should_stop() cancels (DatasetError)."""
    from designer.nn.data_download import download_cifar10 as download
    return download(data_dir, progress, should_stop, url, md5)
