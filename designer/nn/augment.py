"""Batch augmentation and normalisation on tensors (no per-sample Python work)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip(images: torch.Tensor, pad: int, crop: bool, flip: bool,
              generator: torch.Generator, fill: str = "zero",
              mirror: torch.Tensor | None = None) -> torch.Tensor:
    """Random translations by up to `pad` pixels (size-preserving crops of the
    padded images; fill "zero" or "reflect") and/or horizontal flips (random,
    or where the boolean `mirror` says), as one gather over flattened pixels
    (on a CPU 6x faster than 4-D advanced indexing followed by flip + where)."""
    n, c, h, w = images.shape
    dev = images.device
    reflect = crop and pad > 0 and fill == "reflect"
    if crop and pad > 0:
        source = images if reflect else F.pad(images, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator).to(dev)
        dx = torch.randint(0, 2 * pad + 1, (n, 1, 1), generator=generator).to(dev)
    else:
        source = images
        dy = dx = torch.zeros((n, 1, 1), dtype=torch.long, device=dev)
    sh, sw = source.shape[2], source.shape[3]
    cols = torch.arange(w, device=dev).view(1, 1, w)
    if flip:
        if mirror is None:
            mirror = torch.rand(n, generator=generator) < 0.5
        cols = torch.where(mirror.to(dev).view(n, 1, 1), w - 1 - cols, cols)
    rows = torch.arange(h, device=dev).view(1, h, 1)
    rows, cols = rows + dy, cols + dx
    if reflect:  # index into the unpadded image, mirrored at the border
        rows, cols = _reflect(rows - pad, h), _reflect(cols - pad, w)
    flat = (rows * sw + cols).view(n, 1, h * w).expand(n, c, h * w)
    return source.reshape(n, c, sh * sw).gather(2, flat).view(n, c, h, w)


def _reflect(i: torch.Tensor, size: int) -> torch.Tensor:
    """Index i in [-size+1, 2*size-2] reflected into [0, size) (no edge repeat)."""
    i = i.abs()
    return torch.where(i >= size, 2 * (size - 1) - i, i)


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
                  generator: torch.Generator, pad: int = 4, fill: str = "zero",
                  mirror: torch.Tensor | None = None) -> torch.Tensor:
    if not (crop and pad > 0) and not flip:
        return images
    return crop_flip(images, pad, crop, flip, generator, fill, mirror)
