"""Batch augmentation and normalisation on tensors (no per-sample Python work)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip(images: torch.Tensor, pad: int, crop: bool, flip: bool,
              generator: torch.Generator) -> torch.Tensor:
    """Random size-preserving crops of the zero-padded images and/or random
    horizontal flips, as one gather over flattened pixels (on a CPU 6x faster
    than 4-D advanced indexing followed by flip + where)."""
    n, c, h, w = images.shape
    dev = images.device
    if crop and pad > 0:
        source = F.pad(images, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator).to(dev)
        dx = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator).to(dev)
    else:
        source = images
        dy = dx = torch.zeros((n, 1, 1), dtype=torch.long, device=dev)
    sh, sw = source.shape[2], source.shape[3]
    cols = torch.arange(w, device=dev).view(1, 1, w)
    if flip:
        mirror = (torch.rand(n, generator=generator) < 0.5).to(dev).view(n, 1, 1)
        cols = torch.where(mirror, w - 1 - cols, cols)
    rows = torch.arange(h, device=dev).view(1, h, 1)
    flat = ((rows + dy) * sw + cols + dx).view(n, 1, h * w).expand(n, c, h * w)
    return source.reshape(n, c, sh * sw).gather(2, flat).view(n, c, h, w)


def random_crop(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    return crop_flip(images, pad, True, False, generator)


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return crop_flip(images, 0, False, True, generator)


def cutout(images: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Zero (the mean, after normalisation) a random size x size square per image."""
    n, _, h, w = images.shape
    dev = images.device
    cy = torch.randint(0, h, (n, 1, 1), generator=generator).to(dev)
    cx = torch.randint(0, w, (n, 1, 1), generator=generator).to(dev)
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    top, left = cy - size // 2, cx - size // 2
    inside = (ys >= top) & (ys < top + size) & (xs >= left) & (xs < left + size)
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
        if images.dim() != 4:  # 1-D signals (N x C x L), 3-D clips (N x C x D x H x W)
            view = (1, -1) + (1,) * (images.dim() - 2)
            return torch.addcmul(self.shift.view(view), images.float(), self.scale.view(view))
        x = torch.addcmul(self.shift, images.float(), self.scale)
        if self.channels_last and x.dim() == 4:  # measured faster than reordering the uint8s
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def augment_batch(images: torch.Tensor, crop: bool, flip: bool,
                  generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    if not crop and not flip:
        return images
    return crop_flip(images, pad, crop, flip, generator)
