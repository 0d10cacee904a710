"""The samples: LeNet-5's textbook counts, and every sample's totals equal the
torch module's sum(p.numel())."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import ROOT, SAMPLES
from designer.core import InputSpec, analyse
from designer.io import load
from test_core_torch_equivalence import TorchRun, check_against_torch


def test_lenet5_textbook_counts() -> None:
    """LeCun et al. 1998 on 1×28×28 with conv1 padding 2 (the 32×32 of the paper)."""
    design = load(ROOT / "samples" / "lenet5.json")
    design.set_input_spec(InputSpec(1, 28, 28))
    design.set_param("conv1", "padding", 2)
    a = analyse(design)
    assert a.ok
    counts = {lid: info.params for lid, info in a.layers.items() if info.params}
    assert counts == {"conv1": 156, "conv2": 2416, "fc1": 48120, "fc2": 10164, "fc3": 850}
    assert a.layers["conv1"].output_shape == (6, 28, 28)
    assert a.layers["pool2"].output_shape == (16, 5, 5)
    assert "params = (5·5·1 + 1)·6 = 156" in a.layers["conv1"].formulas
    assert a.total_params == 61706
    check_against_torch(design)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_sample_totals_equal_torch(sample: Path) -> None:
    design = load(sample)
    a = analyse(design)
    assert a.ok, a.all_errors
    check_against_torch(design)  # per layer: shapes, params, buffers, MACs
    run = TorchRun(design).run(count_flops=False)
    assert a.total_params == sum(t + f for t, f in run.params.values())

    from designer.nn.build import build
    model = build(design, a)
    assert sum(p.numel() for p in model.parameters()) == a.total_params
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == a.trainable_params
    out = model(torch.rand(2, *a.input_shape))
    assert tuple(out.shape[1:]) == a.output_shape
