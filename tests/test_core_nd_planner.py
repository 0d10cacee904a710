"""What autograd saves for the 1-D and 3-D layer types (issue 15), as the
memory planner says, against torch's saved tensors (test_core_planner_torch's
probe, on signals and volumes)."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from designer.core.planner import PlanSettings, plan
from designer.io import from_dict
from designer.nn import train_setup as setup
from designer.nn.build import build
from designer.nn.memory_probe import SavedTensors

SIZES = {1: {"length": 12}, 2: {"height": 6, "width": 6}, 3: {"depth": 4, "height": 6, "width": 6}}
HEAD = [{"id": "flat", "type": "Flatten"}, {"id": "fc", "type": "Linear",
                                            "params": {"out_features": 3}}]


def layers_for(rank: int) -> list[tuple[str, dict[str, Any]]]:
    n = f"{rank}d"
    out: list[tuple[str, dict[str, Any]]] = [
        (f"InstanceNorm{n}", {}), (f"InstanceNorm{n}", {"affine": True}),
        (f"InstanceNorm{n}", {"affine": True, "track_running_stats": True}),
        (f"InstanceNorm{n}", {"track_running_stats": True}),
        ("Upsample", {"scale_factor": 2.0, "mode": {1: "linear", 2: "bilinear",
                                                     3: "trilinear"}[rank]}),
    ]
    if rank != 2:
        bn = "BatchNorm1d" if rank == 1 else "BatchNorm3d"
        out += [
            (f"Conv{n}", {"out_channels": 6, "kernel_size": 3, "groups": 2}),
            (f"ConvTranspose{n}", {"out_channels": 5, "kernel_size": 3, "stride": 2}),
            (f"MaxPool{n}", {"kernel_size": 2}),
            (f"MaxPool{n}", {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
            (f"AvgPool{n}", {"kernel_size": 2}),
            (f"AdaptiveAvgPool{n}", {"output_size": 2}),
            (f"AdaptiveAvgPool{n}", {"output_size": 1}),
            (f"AdaptiveMaxPool{n}", {"output_size": 2}),
            (bn, {}), (bn, {"affine": False, "track_running_stats": False}),
            (f"Dropout{n}", {"p": 0.3}), ("Dropout", {"p": 0.3}), ("ReLU", {}),
            ("GroupNorm", {"num_groups": 2}), ("LayerNorm", {}),
            ("Upsample", {"scale_factor": 2.0}),
        ]
    return out


CASES = [(rank, t, p) for rank in (1, 2, 3) for t, p in layers_for(rank)]


def design_of(rank: int, layers: list[dict[str, Any]]) -> Any:
    return from_dict({"format": "cnn-designer", "schema_version": 2, "design": {
        "name": "t", "input": {"channels": 4, **SIZES[rank]}, "layers": layers}})


def saved_by_torch(design: Any, precision: str, batch: int = 3) -> int:
    model = build(design)
    model.train()
    x = torch.randn(batch, *design.input.shape)
    exclude = list(model.parameters()) + list(model.buffers())
    with SavedTensors() as saved, setup.autocast(torch.device("cpu"), precision):
        model(x)
    return saved.bytes_excluding(exclude)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("rank,type_name,params", CASES,
                         ids=[f"{r}-{t}{i}" for i, (r, t, _) in enumerate(CASES)])
def test_saved_activations_of_nd_types_equal_torch(rank: int, type_name: str,
                                                   params: dict[str, Any],
                                                   precision: str) -> None:
    conv = {"id": "conv", "type": f"Conv{rank}d",
            "params": {"out_channels": 8, "kernel_size": 3, "padding": 1}}
    design = design_of(rank, [conv, {"id": "x", "type": type_name, "params": params}] + HEAD)
    p = plan(design, PlanSettings(batch_size=3, precision=precision))
    assert p.saved == saved_by_torch(design, precision)
