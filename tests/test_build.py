"""designer.nn.build: design -> nn.Module on the samples and random designs."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings

from conftest import SAMPLES
from designer.core import Design, InputSpec, analyse
from designer.core.naming import layer_names
from designer.io import load
from designer.nn.build import BuildError, build, constructor_kwargs
from test_export_helpers import valid_designs


def check_build(design: Design) -> None:
    analysis = analyse(design)
    module = build(design, analysis)
    assert module.names == layer_names(design)
    assert module.input_shape == analysis.input_shape
    assert sum(p.numel() for p in module.parameters()) == analysis.total_params
    assert sum(p.numel() for p in module.parameters() if p.requires_grad) == \
        analysis.trainable_params
    x = torch.randn(2, *analysis.input_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = module.eval().forward_all(x)
        for lay in design.layers:
            assert tuple(outs[module.names[lay.id]].shape[1:]) == \
                analysis.layers[lay.id].output_shape, lay.id
        y = module.train()(x)
    assert tuple(y.shape[1:]) == analysis.output_shape
    if y.requires_grad:
        y.float().sum().backward()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_samples_build(sample: Path) -> None:
    check_build(load(sample))


@settings(max_examples=60)
@given(valid_designs())
def test_random_designs_build(design: Design) -> None:
    check_build(design)


def test_design_with_errors_raises_build_error() -> None:
    d = Design("broken", InputSpec(3, 4, 4))
    d.add_layer("Linear", {"out_features": 3}, layer_id="fc")
    with pytest.raises(BuildError, match="fc"):
        build(d)
    with pytest.raises(BuildError, match="no layers"):
        build(Design("empty"))


def test_frozen_layers_do_not_train() -> None:
    d = Design("f", InputSpec(3, 8, 8))
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3}, layer_id="c", frozen=True)
    d.add_layer("BatchNorm2d", layer_id="bn")
    module = build(d)
    assert not module.c.weight.requires_grad and module.bn.weight.requires_grad


def test_constructor_kwargs_turn_lists_into_tuples() -> None:
    kw = constructor_kwargs("Conv2d", {"out_channels": 4, "kernel_size": [3, 1],
                                       "padding": [1, 0]}, {"in_channels": 2})
    assert kw == {"out_channels": 4, "kernel_size": (3, 1), "padding": (1, 0),
                  "in_channels": 2}
