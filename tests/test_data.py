"""Datasets and the tensor input pipeline (tiny generated data, no network)."""
from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from designer.nn import augment
from designer.nn.data import (CIFAR_LABEL, DatasetError, default_data_dir, find_cifar10,
                              load_cifar10, synthetic_dataset)

from test_data_helpers import CLASSES, batch, write_cifar


def test_load_tiny_cifar_folder(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path, per_batch=8, test=10)
    assert find_cifar10(tmp_path) == folder
    assert find_cifar10(folder) == folder  # the folder itself is accepted too
    data = load_cifar10(tmp_path)
    assert data.train_x.shape == (40, 3, 32, 32) and data.train_x.dtype == torch.uint8
    assert data.test_x.shape == (10, 3, 32, 32)
    assert data.train_y.dtype == torch.int64 and len(data.train_y) == 40
    assert data.class_names == CLASSES and data.label == CIFAR_LABEL and not data.synthetic
    # pixels in CHW order, as the official files: row 0 of batch 1 is image 0
    raw = batch(8, 1)
    expected = np.asarray(raw[b"data"])[0].reshape(3, 32, 32)
    assert np.array_equal(data.train_x[0].numpy(), expected)
    assert data.train_y[:8].tolist() == raw[b"labels"]


def test_missing_folder_names_the_place(tmp_path: Path) -> None:
    assert find_cifar10(tmp_path) is None
    with pytest.raises(DatasetError, match="CIFAR-10 is not in"):
        load_cifar10(tmp_path)


def test_incomplete_folder_names_the_missing_file(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").unlink()
    assert find_cifar10(tmp_path) is None
    with pytest.raises(DatasetError, match="data_batch_3 is missing"):
        load_cifar10(tmp_path)


def test_truncated_file_is_reported_as_corrupt(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path)
    path = folder / "data_batch_2"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DatasetError, match="data_batch_2 is corrupt"):
        load_cifar10(tmp_path)


def test_wrong_shape_is_reported(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path)
    bad = {b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]}
    (folder / "test_batch").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(DatasetError, match="test_batch is corrupt: its images"):
        load_cifar10(tmp_path)


class _Exploit:
    def __reduce__(self):  # what a malicious pickle would do
        return (os.system, ("echo pwned > /dev/null",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    folder = write_cifar(tmp_path)
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _Exploit()}, protocol=2))
    with pytest.raises(DatasetError, match=r"data_batch_1 is corrupt.*unexpected object"):
        load_cifar10(tmp_path)


def test_default_data_dir_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CNN_DESIGNER_DATA", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("CNN_DESIGNER_DATA")
    path = default_data_dir()
    assert path.name == "data" and path.parent.name == "cnn-designer"
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert default_data_dir() == tmp_path / "xdg" / "cnn-designer" / "data"


def test_synthetic_dataset_is_labelled_deterministic_and_balanced() -> None:
    a = synthetic_dataset(train_size=200, test_size=50, seed=3)
    b = synthetic_dataset(train_size=200, test_size=50, seed=3)
    c = synthetic_dataset(train_size=200, test_size=50, seed=4)
    assert a.synthetic and "synthetic" in a.label.lower() and "not real" in a.label.lower()
    assert a.train_x.shape == (200, 3, 32, 32) and a.train_x.dtype == torch.uint8
    assert a.test_x.shape == (50, 3, 32, 32) and len(a.class_names) == 10
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert not torch.equal(a.train_x, c.train_x)
    assert not torch.equal(a.train_x, a.test_x[:50].repeat(4, 1, 1, 1))
    assert torch.bincount(a.train_y, minlength=10).tolist() == [20] * 10


def test_synthetic_classes_differ_in_their_mean_image() -> None:
    """Classes are separable by simple statistics, so a net can learn them."""
    data = synthetic_dataset(train_size=1000, test_size=10)
    means = torch.stack([data.train_x[data.train_y == k].float().mean(dim=(0, 2, 3))
                         for k in range(10)])
    distances = torch.cdist(means, means)
    assert distances[~torch.eye(10, dtype=torch.bool)].min() > 2.0  # colour tints differ


def test_mean_std_and_limits(tmp_path: Path) -> None:
    data = synthetic_dataset(train_size=100, test_size=20)
    mean, std = data.mean_std()
    x = data.train_x.double() / 255
    assert np.allclose(mean, x.mean(dim=(0, 2, 3)).tolist(), atol=1e-6)
    assert np.allclose(std, x.std(dim=(0, 2, 3)).tolist(), atol=1e-6)
    small = data.limited(30, 5)
    assert len(small.train_x) == 30 and len(small.test_y) == 5 and small.label == data.label


# --- augmentation -------------------------------------------------------------------------

def _ramp(n: int = 4) -> torch.Tensor:
    """Distinct uint8 pixel values that reveal where each one came from."""
    base = torch.arange(32 * 32).view(32, 32) % 251 + 1
    return base.expand(n, 3, 32, 32).to(torch.uint8).clone()


def test_random_crop_is_a_shifted_window_of_the_padded_image() -> None:
    images = _ramp(16)
    out = augment.random_crop(images, 4, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    shifts = set()
    for i in range(16):
        matches = [(dy, dx) for dy in range(9) for dx in range(9)
                   if torch.equal(padded[i, :, dy:dy + 32, dx:dx + 32], out[i])]
        assert matches, f"image {i} is not a window of its padded source"
        shifts.add(matches[0])
    assert len(shifts) > 3  # offsets differ between images


def test_random_flip_mirrors_about_half_the_images() -> None:
    images = _ramp(200)
    out = augment.random_flip(images, torch.Generator().manual_seed(1))
    flipped = [torch.equal(out[i], images[i].flip(2)) for i in range(200)]
    kept = [torch.equal(out[i], images[i]) for i in range(200)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 60 < sum(flipped) < 140


def test_cutout_zeroes_one_square_per_image() -> None:
    x = torch.ones(50, 3, 32, 32)
    out = augment.cutout(x, 8, torch.Generator().manual_seed(2))
    zeros = (out[:, 0] == 0)
    for i in range(50):
        rows = zeros[i].any(dim=1).nonzero().flatten()
        cols = zeros[i].any(dim=0).nonzero().flatten()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8
        assert int(zeros[i].sum()) == len(rows) * len(cols)  # a (clipped) rectangle
        assert torch.equal(out[i, 0] == 0, out[i, 2] == 0)   # the same on every channel
    assert any(int(zeros[i].sum()) == 64 for i in range(50))


def test_augmentation_is_deterministic_for_a_seed() -> None:
    images = _ramp(32)
    a = augment.augment_batch(images, True, True, torch.Generator().manual_seed(5))
    b = augment.augment_batch(images, True, True, torch.Generator().manual_seed(5))
    c = augment.augment_batch(images, True, True, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_normaliser_matches_the_formula() -> None:
    images = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    norm = augment.Normaliser(mean, std, torch.device("cpu"), channels_last=True)
    out = norm(images)
    expected = (images.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) \
        / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(out, expected, atol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last)
