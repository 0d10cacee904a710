"""Procedural 3x32x32 images in 10 learnable classes (no real data).

Each class has its own stripe orientation and frequency, a colour tint and a
shape (disc or square) of class-dependent size; phase, position, brightness
and pixel noise vary per image, so a network has to learn the patterns
rather than memorise pixels.
"""
from __future__ import annotations

import math

import torch

SIZE = 32
CLASSES = 10


def generate(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 count x 3 x 32 x 32, int64 labels), deterministic for a seed."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % CLASSES
    labels = labels[torch.randperm(count, generator=g)]
    c = labels.to(torch.float32)
    ys, xs = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32),
                            torch.arange(SIZE, dtype=torch.float32), indexing="ij")
    ys, xs = ys[None], xs[None]

    angle = (c * math.pi / CLASSES)[:, None, None]
    freq = (0.25 + 0.08 * (labels % 3).to(torch.float32))[:, None, None]
    phase = torch.rand(count, 1, 1, generator=g) * 2 * math.pi
    stripes = torch.sin(freq * (xs * torch.cos(angle) + ys * torch.sin(angle)) + phase)

    cy = 8 + torch.rand(count, 1, 1, generator=g) * 16
    cx = 8 + torch.rand(count, 1, 1, generator=g) * 16
    radius = (4 + (labels % 4).to(torch.float32) * 1.5)[:, None, None]
    disc = ((ys - cy) ** 2 + (xs - cx) ** 2) <= radius ** 2
    square = ((ys - cy).abs() <= radius) & ((xs - cx).abs() <= radius)
    shape = torch.where((labels % 2 == 0)[:, None, None], disc, square).to(torch.float32)

    hue = c * 2 * math.pi / CLASSES
    tint = torch.stack([torch.cos(hue), torch.cos(hue - 2.094), torch.cos(hue + 2.094)], dim=1)
    bright = 0.8 + 0.4 * torch.rand(count, 1, 1, 1, generator=g)
    image = 0.5 + 0.18 * stripes[:, None] * bright + 0.3 * shape[:, None] * tint[:, :, None, None]
    image = image + 0.12 * torch.randn(count, 3, SIZE, SIZE, generator=g)
    return (image.clamp(0, 1) * 255).round().to(torch.uint8), labels.to(torch.int64)
