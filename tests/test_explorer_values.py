"""The explorer's real values: the selected layer's input is the port it reads."""
from __future__ import annotations

import numpy as np
import torch

from designer.core.model import Design, InputSpec
from designer.nn import erf
from designer.nn.explorer_values import layer_values


def test_a_layer_reading_port_1_of_a_split_gets_the_second_section() -> None:
    design = Design("ports", InputSpec(4, 6, 6))
    design.add_layer("Split", {"split_size_or_sections": 2}, ["input"], layer_id="split")
    design.add_layer("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": 1}, ["split:1"],
                     layer_id="conv")
    design.add_layer("Concat", {}, ["split:0", "conv"], layer_id="cat")
    image = np.random.default_rng(0).integers(0, 256, (4, 6, 6)).astype(np.uint8)
    values = layer_values(design, "conv", image)
    x = erf.image_tensor(image)[0].double().numpy()
    assert np.allclose(values.x, x[2:4])            # channels 2-3: port 1
    conv = torch.nn.functional.conv2d(torch.as_tensor(values.x)[None],
                                      torch.as_tensor(values.weight),
                                      torch.as_tensor(values.bias), padding=1)
    assert np.allclose(conv[0].numpy(), values.output, atol=1e-5)
