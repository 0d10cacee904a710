"""Real numbers for the convolution explorer: the selected layer's input for a
real image through the current weights (trained when a run finished and they
fit, else the seeded initial ones), and the layer's own weight and bias."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from designer.core.model import Design
from designer.nn import erf
from designer.nn.build import build


@dataclass
class LayerValues:
    x: np.ndarray                    # the layer's input for one image, C×H×W
    weight: np.ndarray | None
    bias: np.ndarray | None
    output: np.ndarray               # the layer's own output (torch), C×H×W
    label: str                       # which weights


def layer_values(design: Design, layer_id: str, image: np.ndarray,
                 state_dict: dict[str, Any] | None = None) -> LayerValues:
    """Runs `image` (uint8 C×H×W, the design's input size) through the design
    and returns what reaches `layer_id`. Raises BuildError for a design with
    errors; trained weights that do not fit are ignored (and the label says so)."""
    module = build(design)
    label_note = ""
    if state_dict is not None:
        from designer.nn.checkpoint import CheckpointError, check_fits
        try:
            check_fits(module, state_dict)
        except CheckpointError as e:
            state_dict, label_note = None, f" (the last run's weights do not fit: {e})"
    label = erf.prepare(module, state_dict) + label_note
    name = module.names[layer_id]
    with torch.no_grad():
        values = module._run(erf.image_tensor(image))   # every layer's output, ports as tuples
    src_name, port = next(src for n, src, *_ in module._plan if n == name)[0]
    x = _port(values[src_name], port)
    out = _port(values[name], 0)
    sub = getattr(module, name)
    weight = getattr(sub, "weight", None)
    bias = getattr(sub, "bias", None)
    return LayerValues(
        x[0].detach().double().numpy(),
        None if weight is None else weight.detach().double().numpy(),
        None if bias is None else bias.detach().double().numpy(),
        out[0].detach().double().numpy(), label)


def _port(value: Any, port: int) -> torch.Tensor:
    """A layer with several outputs gives a tuple: the port the layer reads."""
    return value[port] if isinstance(value, (tuple, list)) else value
