"""Synthetic 1-D signals and 3-D clips: shapes, determinism, labels, and that a
small network learns them well above chance in a short run."""
from __future__ import annotations


import pytest
import torch
from torch import nn

from designer.core.training_config import TrainConfig
from designer.nn import data_synthetic_nd as nd
from designer.nn import train_setup as setup
from designer.nn.data import synthetic_nd_dataset


@pytest.mark.parametrize("shape", [(1, 64), (3, 100), (2, 4, 12, 10), (3, 16, 24, 24)])
def test_shapes_dtype_and_balanced_labels(shape: tuple[int, ...]) -> None:
    x, y = nd.generate(shape, 60, 6, seed=3)
    assert x.dtype == torch.uint8 and tuple(x.shape) == (60,) + shape
    assert y.dtype == torch.int64 and sorted(torch.bincount(y, minlength=6).tolist()) == [10] * 6
    assert int(x.max()) > 150 and int(x.min()) < 100   # uses the range, not a constant


@pytest.mark.parametrize("shape", [(2, 50), (1, 6, 16, 16)])
def test_deterministic_per_seed(shape: tuple[int, ...]) -> None:
    a = nd.generate(shape, 40, 5, seed=11)
    b = nd.generate(shape, 40, 5, seed=11)
    c = nd.generate(shape, 40, 5, seed=12)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_clips_chunked_generation_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = nd.clips(12, 2, 4, 10, 10, 6, seed=5)
    monkeypatch.setattr(nd, "CHUNK_VALUES", 2 * 4 * 10 * 10 * 5)   # 5 clips per chunk
    chunked = nd.clips(12, 2, 4, 10, 10, 6, seed=5)
    assert torch.equal(whole[0], chunked[0]) and torch.equal(whole[1], chunked[1])


def test_clip_shapes_move_in_their_class_direction() -> None:
    # class 0: disc moving right; class 6 of 12 (4 directions): disc moving left
    x, y = nd.clips(40, 1, 8, 32, 32, 12, seed=2)
    xs = torch.arange(32, dtype=torch.float32)
    for i in range(40):
        if int(y[i]) not in (0, 6):
            continue
        frames = x[i, 0].float()
        bright = frames - frames.mean(dim=(1, 2), keepdim=True)
        weight = bright.clamp_min(0).sum(dim=1)             # depth x width
        centre = (weight * xs).sum(dim=1) / weight.sum(dim=1)
        moved = float(centre[-1] - centre[0])
        assert (moved > 3) if int(y[i]) == 0 else (moved < -3)


def test_class_names_and_label() -> None:
    assert nd.signal_class_names(5) == ["sine band 1", "square band 1", "triangle band 1",
                                        "sawtooth band 1", "sine band 2"]
    assert nd.clip_class_names(12)[:4] == ["disc right", "square right", "ring right",
                                           "disc down"]
    data = synthetic_nd_dataset((1, 40), 4, 20, 8)
    assert data.label == "Synthetic 1-D signals (4 classes; not real data)" and data.synthetic
    assert data.image_shape == (1, 40) and data.num_classes == 4
    mean, std = data.mean_std()
    assert len(mean) == 1 and 0 < mean[0] < 1 and std[0] > 0


def test_sizes_follow_the_limits_else_a_memory_budget() -> None:
    assert setup.synthetic_nd_sizes(TrainConfig(), (1, 256)) == (10000, 2000)
    big = setup.synthetic_nd_sizes(TrainConfig(), (3, 16, 112, 112))
    assert big[0] * 3 * 16 * 112 * 112 <= setup.SYNTHETIC_ND_BYTES and big[0] >= 200
    assert setup.synthetic_nd_sizes(TrainConfig(train_limit=30, test_limit=7), (3, 8, 8, 8)) \
        == (30, 7)
    assert setup.synthetic_nd_classes((6,)) == 6
    assert setup.synthetic_nd_classes((1000,)) == 10 and setup.synthetic_nd_classes(None) == 10


# How fast generation is (vectorised: a loop per pixel takes minutes) is measured
# against a baseline of the same run by tests/benchmarks/synthetic_nd_speed.py.


def _fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, tx: torch.Tensor,
         ty: torch.Tensor, steps: int) -> float:
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)       # tiny nets: more threads only contend
    xf, txf = x.float() / 255 - 0.5, tx.float() / 255 - 0.5
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (32,), generator=g)
        loss = nn.functional.cross_entropy(model(xf[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = float((model(txf).argmax(1) == ty).float().mean())
    torch.set_num_threads(threads)
    return acc


def test_a_small_conv1d_net_learns_the_signals() -> None:
    torch.manual_seed(0)
    x, y = nd.signals(600, 1, 64, 8, seed=1)
    tx, ty = nd.signals(200, 1, 64, 8, seed=2)
    net = nn.Sequential(nn.Conv1d(1, 12, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
                        nn.Conv1d(12, 24, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
                        nn.Flatten(), nn.Linear(24 * 16, 8))
    acc = _fit(net, x, y, tx, ty, 150)
    assert acc > 0.4, acc          # chance is 1/8


def test_a_small_conv3d_net_learns_the_clips() -> None:
    torch.manual_seed(0)
    x, y = nd.clips(400, 1, 6, 12, 12, 6, seed=1)
    tx, ty = nd.clips(150, 1, 6, 12, 12, 6, seed=2)
    net = nn.Sequential(nn.Conv3d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
                        nn.Conv3d(6, 12, 3, padding=1), nn.ReLU(), nn.MaxPool3d((3, 2, 2)),
                        nn.Flatten(), nn.Linear(12 * 1 * 3 * 3, 6))
    acc = _fit(net, x, y, tx, ty, 80)
    assert acc > 0.4, acc          # chance is 1/6
