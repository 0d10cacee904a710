"""Batch augmentation and normalisation on tensors (no per-sample Python work)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """A random size-preserving crop of each zero-padded image, by one gather."""
    n, c, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), generator=generator).to(dev)
    dx = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), generator=generator).to(dev)
    rows = torch.arange(h, device=dev).view(1, 1, h, 1) + dy
    cols = torch.arange(w, device=dev).view(1, 1, 1, w) + dx
    batch = torch.arange(n, device=dev).view(n, 1, 1, 1)
    chans = torch.arange(c, device=dev).view(1, c, 1, 1)
    return padded[batch, chans, rows, cols]


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mirror = (torch.rand(images.shape[0], generator=generator) < 0.5).to(images.device)
    return torch.where(mirror.view(-1, 1, 1, 1), images.flip(3), images)


def cutout(images: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Zero (the mean, after normalisation) a random size x size square per image."""
    n, _, h, w = images.shape
    dev = images.device
    cy = torch.randint(0, h, (n, 1, 1), generator=generator).to(dev)
    cx = torch.randint(0, w, (n, 1, 1), generator=generator).to(dev)
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    half = size // 2
    inside = (ys >= cy - half) & (ys < cy - half + size) & (xs >= cx - half) & (xs < cx - half + size)
    return images.masked_fill(inside[:, None], 0)


class Normaliser:
    """uint8 images -> float (x/255 - mean) / std, in one fused multiply-add."""

    def __init__(self, mean: list[float], std: list[float], device: torch.device,
                 channels_last: bool) -> None:
        std_t = torch.tensor(std, device=device).view(1, -1, 1, 1) * 255.0
        self.scale = 1.0 / std_t
        self.shift = -torch.tensor(mean, device=device).view(1, -1, 1, 1) * 255.0 / std_t
        self.channels_last = channels_last

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = torch.addcmul(self.shift, images.float(), self.scale)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def augment_batch(images: torch.Tensor, crop: bool, flip: bool,
                  generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    if crop:
        images = random_crop(images, pad, generator)
    if flip:
        images = random_flip(images, generator)
    return images
