"""Synthetic 1-D signals and 3-D clips of any shape, in learnable classes.

CIFAR-10 is 2-D, so a design whose input is 1-D (channels x length) or 3-D
(channels x depth x height x width) trains on these instead.

- 1-D: noisy periodic signals. Class c has waveform c % 4 (sine, square,
  triangle, sawtooth) and frequency band c // 4; phase, amplitude, exact
  frequency, offset and noise vary per signal.
- 3-D: short clips (depth = time) of one moving shape. Class c has shape
  c % 3 (disc, square, ring) and motion direction c // 3 (of
  ceil(classes / 3) directions); start, size, speed, brightness and noise vary.

Everything is vectorised torch, deterministic for a seed, and stored as
uint8 like the image datasets. This file imports only math and torch: the
exported train.py embeds it verbatim (designer/export/train_script.py).
"""
from __future__ import annotations

import math

import torch

WAVEFORMS = ("sine", "square", "triangle", "sawtooth")
SHAPES = ("disc", "square", "ring")
DIRECTIONS8 = ("right", "down-right", "down", "down-left", "left", "up-left",
               "up", "up-right")
CHUNK_VALUES = 16_000_000   # floats made at once (bounds temporary memory)


def _labels(count: int, classes: int, g: torch.Generator) -> torch.Tensor:
    labels = torch.arange(count) % classes
    return labels[torch.randperm(count, generator=g)]


def signal_class_names(classes: int) -> list[str]:
    return [f"{WAVEFORMS[c % 4]} band {c // 4 + 1}" for c in range(classes)]


def clip_class_names(classes: int) -> list[str]:
    n_dir = max(1, math.ceil(classes / 3))
    names = []
    for c in range(classes):
        d = c // 3
        if n_dir in (1, 2, 4, 8):
            way = DIRECTIONS8[d * (8 // n_dir)] if n_dir > 1 else "right"
        else:
            way = f"{round(360 * d / n_dir)} deg"
        names.append(f"{SHAPES[c % 3]} {way}")
    return names


def signals(count: int, channels: int, length: int, classes: int,
            seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 count x channels x length, int64 labels)."""
    g = torch.Generator().manual_seed(seed)
    labels = _labels(count, classes, g)
    wave = labels % 4
    band = (labels // 4).to(torch.float32)
    # cycles over the whole signal: bands 2, 3.4, 5.8... apart, +-8% jitter
    jitter = 0.92 + 0.16 * torch.rand(count, generator=g)
    cycles = 2.0 * 1.7 ** band * jitter
    phase = torch.rand(count, generator=g)
    t = torch.arange(length, dtype=torch.float32) / max(1, length)
    u = (cycles[:, None] * t[None] + phase[:, None]) % 1.0  # count x length
    shapes = torch.stack([torch.sin(2 * math.pi * u),
                          torch.where(u < 0.5, 1.0, -1.0),
                          1.0 - 4.0 * (u - 0.5).abs(),
                          2.0 * u - 1.0])                  # 4 x count x length
    pick = wave.view(1, count, 1).expand(1, count, length)
    base = shapes.gather(0, pick)[0]
    gain = 0.5 + 0.5 * torch.rand(count, channels, 1, generator=g)
    offset = 0.2 * (torch.rand(count, channels, 1, generator=g) - 0.5)
    x = base[:, None] * gain + offset
    x = x + 0.25 * torch.randn(count, channels, length, generator=g)
    x = ((x / 3.0 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
    return x, labels.to(torch.int64)


def clips(count: int, channels: int, depth: int, height: int, width: int,
          classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 count x channels x depth x height x width, int64 labels)."""
    g = torch.Generator().manual_seed(seed)
    labels = _labels(count, classes, g)
    n_dir = max(1, math.ceil(classes / 3))
    angle = (labels // 3).to(torch.float32) * 2 * math.pi / n_dir
    size = min(height, width)
    radius = size * (0.12 + 0.06 * torch.rand(count, generator=g))
    # travel about a third of the frame over the clip, from a start that
    # keeps the shape inside
    travel = size * (0.25 + 0.15 * torch.rand(count, generator=g))
    dy, dx = torch.sin(angle) * travel, torch.cos(angle) * travel
    shift_y = (torch.rand(count, generator=g) - 0.5) * height * 0.2
    shift_x = (torch.rand(count, generator=g) - 0.5) * width * 0.2
    cy = height / 2 - dy / 2 + shift_y
    cx = width / 2 - dx / 2 + shift_x
    bright = 0.5 + 0.4 * torch.rand(count, channels, generator=g)
    background = 0.1 + 0.15 * torch.rand(count, channels, generator=g)
    out = torch.empty(count, channels, depth, height, width,
                      dtype=torch.uint8)
    per_clip = max(1, channels * depth * height * width)
    step = max(1, CHUNK_VALUES // per_clip)
    frames = torch.arange(depth, dtype=torch.float32) / max(1, depth - 1)
    ys = torch.arange(height, dtype=torch.float32).view(1, 1, height, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, 1, width)
    for a in range(0, count, step):
        b = min(count, a + step)
        n = b - a
        py = cy[a:b, None] + dy[a:b, None] * frames[None]
        px = cx[a:b, None] + dx[a:b, None] * frames[None]
        py, px = py.view(n, depth, 1, 1), px.view(n, depth, 1, 1)
        r = radius[a:b].view(n, 1, 1, 1)
        ddy, ddx = ys - py, xs - px
        dist = (ddy ** 2 + ddx ** 2).sqrt()
        kind = (labels[a:b] % 3).view(n, 1, 1, 1)
        disc = dist <= r
        square = (ddy.abs() <= r * 0.85) & (ddx.abs() <= r * 0.85)
        ring = (dist <= r) & (dist >= r * 0.55)
        mask = torch.where(kind == 0, disc,
                           torch.where(kind == 1, square, ring))
        shape = mask[:, None].to(torch.float32)
        value = background[a:b].view(n, channels, 1, 1, 1) \
            + bright[a:b].view(n, channels, 1, 1, 1) * shape
        noise = torch.randn(n, channels, depth, height, width, generator=g)
        value = value + 0.08 * noise
        out[a:b] = (value.clamp(0, 1) * 255).round().to(torch.uint8)
    return out, labels.to(torch.int64)


def generate(shape: tuple[int, ...], count: int, classes: int,
             seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of `shape`: channels x length (1-D signals) or
    channels x depth x height x width (3-D clips)."""
    if len(shape) == 2:
        return signals(count, shape[0], shape[1], classes, seed)
    if len(shape) == 4:
        return clips(count, *shape, classes, seed)
    raise ValueError(f"no synthetic data of rank {len(shape) - 1} "
                     "(use 1-D or 3-D)")


def class_names(shape: tuple[int, ...], classes: int) -> list[str]:
    if len(shape) == 2:
        return signal_class_names(classes)
    return clip_class_names(classes)
