"""Real numbers for the convolution explorer: the selected layer's input for a
real image through the current weights (trained when a run finished and they
fit, else the seeded initial ones), and the layer's own weight and bias."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from designer.core.model import INPUT_ID, Design
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
    layer = design.layer(layer_id)
    source = layer.inputs[0] if layer.inputs else INPUT_ID
    source = source.split(":")[0]
    source_name = INPUT_ID if source == INPUT_ID else module.names[source]
    name = module.names[layer_id]
    with torch.no_grad():
        values = module.forward_all(erf.image_tensor(image))
    x = _first(values[source_name])
    out = _first(values[name])
    sub = getattr(module, name)
    weight = getattr(sub, "weight", None)
    bias = getattr(sub, "bias", None)
    return LayerValues(
        x[0].detach().double().numpy(),
        None if weight is None else weight.detach().double().numpy(),
        None if bias is None else bias.detach().double().numpy(),
        out[0].detach().double().numpy(), label)


def _first(value: Any) -> torch.Tensor:
    """A layer with several outputs gives a tuple; the explorer looks at port 0."""
    return value[0] if isinstance(value, (tuple, list)) else value
