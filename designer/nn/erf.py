"""Looking inside a built design: effective receptive field (Luo et al. 2016),
activations and filters. Qt-free; results are numpy arrays for the views."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

# CIFAR-10 channel statistics: images are fed the way training normalises them
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def image_tensor(images: np.ndarray, rank: int = 2) -> torch.Tensor:
    """uint8 (N×)C×H×W images -> normalised float N×C×H×W; rank 1 or 3: 1-D
    signals (N×)C×L or volumes (N×)C×D×H×W, scaled to about [-2, 2]."""
    x = torch.as_tensor(np.ascontiguousarray(images)).float() / 255.0
    if x.dim() == rank + 1:
        x = x.unsqueeze(0)
    if rank != 2:
        view = (1, x.shape[1]) + (1,) * (x.dim() - 2)
        return (x - 0.5) / 0.25 * torch.ones(view)
    c = x.shape[1]
    if c == 3:
        mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    else:
        mean, std = torch.full((1, c, 1, 1), 0.5), torch.full((1, c, 1, 1), 0.25)
    return (x - mean) / std


def prepare(module: nn.Module, state_dict: dict[str, torch.Tensor] | None = None,
            seed: int = 0) -> str:
    """Put fixed weights into module (eval mode): the given trained ones, else
    a seeded initialisation. Returns a label saying which."""
    if state_dict is not None:
        module.load_state_dict(state_dict)
        label = "trained weights"
    else:
        gen = torch.random.fork_rng(devices=[])
        with gen:
            torch.manual_seed(seed)
            for m in module.modules():
                reset = getattr(m, "reset_parameters", None)
                if callable(reset) and m is not module:
                    reset()
        label = f"untrained weights (seed {seed})"
    module.eval()
    return label


def _unit_value(out: torch.Tensor, unit: tuple[int, ...]) -> torch.Tensor:
    """Sum over the batch of one unit: (i, j) sums over channels, (c, i, j) picks one."""
    if out.dim() != 4:
        raise ValueError("the layer's output has no spatial map")
    if len(unit) == 2:
        i, j = unit
        return out[:, :, i, j].sum()
    c, i, j = unit
    return out[:, c, i, j].sum()


def effective_rf(module: nn.Module, layer_name: str, unit: tuple[int, ...],
                 image: torch.Tensor) -> np.ndarray:
    """|d unit / d input| summed over input channels and averaged over the batch:
    an H×W heatmap. module must be in eval mode (call prepare first) and have
    forward_all (a DesignModule)."""
    x = image if image.dim() == 4 else image.unsqueeze(0)
    x = x.detach().clone().float().requires_grad_(True)
    with torch.enable_grad():
        outputs = module.forward_all(x)  # type: ignore[operator]
        value = _unit_value(outputs[layer_name], unit)
        (grad,) = torch.autograd.grad(value, x)
    heat = grad.abs().sum(dim=1).mean(dim=0)
    return heat.detach().cpu().numpy().astype(np.float64)


def share_inside(heat: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Fraction of the heatmap's mass inside box (top, left, bottom, right),
    inclusive pixel indices; 1.0 for an all-zero map."""
    total = float(heat.sum())
    if total <= 0.0:
        return 1.0
    top, left, bottom, right = box
    inside = float(heat[max(top, 0):bottom + 1, max(left, 0):right + 1].sum())
    return inside / total


def activations(module: nn.Module, layer_name: str, image: torch.Tensor,
                rank: int = 2) -> np.ndarray:
    """The layer's output for one image: C×H×W (spatial; C×L, C×D×H×W for
    rank 1, 3 inputs) or N (flat) float array."""
    x = image.unsqueeze(0) if image.dim() == rank + 1 else image
    with torch.no_grad():
        out = module.forward_all(x[:1])[layer_name]  # type: ignore[operator]
    return out[0].detach().cpu().float().numpy()


def filters(module: nn.Module, layer_name: str, rgb: bool) -> np.ndarray | None:
    """A convolution's filters as images: out×kh×kw×3 (rgb: the input is the
    3-channel image) or out×kh×kw (mean over the input channels); None for
    layers without conv weights."""
    layer: Any = getattr(module, layer_name, None)
    weight = getattr(layer, "weight", None)
    if isinstance(layer, (nn.Conv1d, nn.Conv3d)) and weight is not None:
        # out×k (1-D) or out×kd×kh×kw (3-D): the mean over the input channels
        return weight.detach().cpu().float().mean(dim=1).numpy()
    if not isinstance(layer, nn.Conv2d) or weight is None:
        return None
    w = weight.detach().cpu().float()
    if rgb and w.shape[1] == 3:
        return w.permute(0, 2, 3, 1).numpy()
    return w.mean(dim=1).numpy()
