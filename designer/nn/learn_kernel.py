"""Learn-a-kernel demo: the tutorials' edge detector learned by gradient descent.

Synthetic images X and their edge maps Y = X ⋆ [1, −1] (each pixel minus its
right neighbour, PyTorch's cross-correlation); a single 1×2 convolution
without bias starts from random values and is trained by plain gradient
descent on the mean squared error until its two values reach [1, −1].
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

TARGET = (1.0, -1.0)


@dataclass
class Step:
    step: int
    kernel: tuple[float, float]
    loss: float
    seconds: float

    def error(self) -> float:
        return max(abs(k - t) for k, t in zip(self.kernel, TARGET))


def make_data(count: int = 16, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """X: N×1×size×size images (random shapes on noise); Y: their edge maps."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 1, size, size, generator=gen) * 0.35
    # a bright or dark rectangle in each, so that the edges show in the pictures
    for n in range(count):
        r, c = torch.randint(0, size // 2, (2,), generator=gen).tolist()
        x[n, 0, r:r + size // 2, c:c + size // 2] += 1.0 if n % 2 else -1.0
    x -= x.mean(dim=(2, 3), keepdim=True)   # zero mean: both values converge at similar rates
    kernel = torch.tensor(TARGET).view(1, 1, 1, 2)
    return x, F.conv2d(x, kernel)


def learn(steps: int = 400, lr: float = 0.8, seed: int = 0, tolerance: float = 0.005,
          on_step: Callable[[Step], bool | None] | None = None, pace_s: float = 0.0,
          data: tuple[torch.Tensor, torch.Tensor] | None = None) -> Step:
    """Trains until both values are within `tolerance` of [1, −1] (or `steps`
    run out). on_step gets every step; returning False stops. pace_s sleeps
    between steps so that a learner can watch the values move."""
    x, y = data if data is not None else make_data(seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    conv = torch.nn.Conv2d(1, 1, (1, 2), bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.rand(1, 1, 1, 2, generator=gen) * 2 - 1)
    t0 = time.perf_counter()
    with torch.no_grad():
        last = Step(0, _values(conv), float(F.mse_loss(conv(x), y)), 0.0)
    if on_step is not None and on_step(last) is False:
        return last
    for n in range(1, steps + 1):
        # plain gradient descent, written out (no torch.optim: its first use imports
        # torch._dynamo, seconds on a busy machine)
        loss = F.mse_loss(conv(x), y)
        (grad,) = torch.autograd.grad(loss, conv.weight)
        with torch.no_grad():
            conv.weight -= lr * grad
        last = Step(n, _values(conv), float(loss.detach()), time.perf_counter() - t0)
        if on_step is not None and on_step(last) is False:
            break
        if last.error() < tolerance:
            break
        if pace_s:
            time.sleep(pace_s)
    return last


def _values(conv: torch.nn.Conv2d) -> tuple[float, float]:
    w = conv.weight.detach().view(-1).tolist()
    return float(w[0]), float(w[1])
