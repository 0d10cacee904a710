"""Random small networks of the ops the importer maps (modules and functional
calls, residual adds, concatenations, channel splits): each imports, and the
exported design with the module's weights gives the module's outputs."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from designer.export.pytorch_code import generate_model_code, model_class_name
from designer.nn.fx_import import import_module, import_weights

STEP = st.sampled_from(["conv", "dwconv", "bn", "relu", "frelu", "hswish", "residual",
                        "concat", "split", "maxpool", "avgpool", "sigmoid_gate"])


class Random(nn.Module):
    def __init__(self, steps: list[str], width: int) -> None:
        super().__init__()
        self.steps = steps
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.layers = nn.ModuleList()
        c = width
        for step in steps:
            if step == "conv":
                self.layers.append(nn.Conv2d(c, c, 3, padding=1, bias=False))
            elif step == "dwconv":
                self.layers.append(nn.Conv2d(c, c, 3, padding=1, groups=c))
            elif step == "bn":
                self.layers.append(nn.BatchNorm2d(c))
            elif step in ("residual", "concat", "sigmoid_gate"):
                self.layers.append(nn.Conv2d(c, c, 1))
            elif step == "split":
                self.layers.append(nn.Conv2d(c // 2, c // 2, 1))
            else:
                self.layers.append(nn.Identity())
            if step == "concat":  # a 1x1 conv to half the width; the concat restores it
                self.layers[-1] = nn.Conv2d(c, c // 2, 1)
        self.head = nn.Linear(c, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for step, layer in zip(self.steps, self.layers):
            if step in ("conv", "dwconv", "bn"):
                x = layer(x)
            elif step == "relu":
                x = torch.relu(x)
            elif step == "frelu":
                x = F.relu6(x)
            elif step == "hswish":
                x = F.hardswish(x)
            elif step == "residual":
                x = x + layer(x)
            elif step == "concat":
                half = layer(x)
                x = torch.cat([half, F.relu(half)], dim=1)
            elif step == "split":
                a, b = x.chunk(2, dim=1)
                x = torch.cat([layer(b), a], dim=1)
            elif step == "maxpool":
                x = F.max_pool2d(x, 3, 1, 1)
            elif step == "avgpool":
                x = nn.functional.avg_pool2d(x, 3, 1, 1)
            elif step == "sigmoid_gate":
                x = x * torch.sigmoid(layer(x.mean((2, 3), keepdim=True)))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


@settings(max_examples=12, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=8), width=st.sampled_from([4, 8]),
       size=st.sampled_from([8, 12]))
def test_random_networks_round_trip(steps: list[str], width: int, size: int) -> None:
    torch.manual_seed(0)
    module = Random(steps, width).eval()
    result = import_module(module, (3, size, size))
    assert result.ok, result.report.text()
    assert result.analysis.total_params == sum(p.numel() for p in module.parameters())
    code = generate_model_code(result.design, result.analysis)
    namespace: dict = {"__name__": "random_model"}
    exec(compile(code, "model.py", "exec"), namespace)
    rebuilt = namespace[model_class_name(result.design)]().eval()
    rebuilt.load_state_dict(import_weights(module, result))
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        want = module(x)
        assert (rebuilt(x) - want).abs().max().item() <= 1e-5 * max(1.0, want.abs().max().item())
