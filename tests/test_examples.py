"""Help > Examples: the tutorials' worked examples load and analyse as each one's
'what to look at' line says."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import ROOT
from designer.core.analysis import analyse
from designer.core.conv_explorer import explorer_spec
from designer.io.design_file import load

EXAMPLES = sorted((ROOT / "samples" / "examples").glob("*.json"))


def _info(name: str):
    path = next(p for p in EXAMPLES if p.name.endswith(name))
    design = load(path)
    return design, analyse(design)


def test_every_example_loads_says_what_to_look_at_and_builds_when_valid() -> None:
    from designer.nn.build import build
    assert len(EXAMPLES) >= 16
    for path in EXAMPLES:
        design = load(path)
        assert design.extra.get("look_at"), path.name
        a = analyse(design)
        if "bug" in path.name:
            continue
        assert a.ok, (path.name, a.all_errors)
        module = build(design)   # the analysis agrees with torch on every example
        y = module(torch.zeros((1,) + design.input.shape))
        assert tuple(y.shape[1:]) == a.output_shape, path.name
        assert sum(p.numel() for p in module.parameters()) == a.total_params, path.name


def test_padding_stride_example_is_8x8_to_4x4() -> None:
    design, a = _info("padding_stride.json")
    info = a.layers["conv"]
    assert info.input_shapes[0] == (1, 8, 8) and info.output_shape == (1, 4, 4)
    spec = explorer_spec("Conv2d", info.resolved, (1, 8, 8))
    assert (spec.rows.kernel, spec.rows.stride, spec.rows.pad_before) == (3, 2, 1)


def test_lenet5_has_the_textbook_counts() -> None:
    design, a = _info("lenet5.json")
    counts = {lid: info.params for lid, info in a.layers.items() if info.params}
    assert counts == {"conv1": 156, "conv2": 2416, "fc1": 48120, "fc2": 10164, "fc3": 850}
    assert a.total_params == 61706
    look = design.extra["look_at"]
    for n in (156, 2416, 48120, 10164, 850, 61706):   # the line quotes the real numbers
        assert f"{n:,}" in look or str(n) in look


def test_simple_cnn_shows_the_fc1_error_and_its_fix() -> None:
    design, a = _info("simple_cnn_bug.json")
    assert not a.ok
    errors = a.layers["fc1"].errors
    assert len(errors) == 1 and "8192" in errors[0].message and "2048" in errors[0].message
    fix = errors[0].fix
    assert fix is not None and "2048" in fix.label
    assert a.layers["flat"].output_shape == (2048,)
    # applying the fix (drop the inferred in_features) makes the design valid
    design.layer("fc1").params.pop("in_features")
    fixed = analyse(design)
    assert fixed.ok and fixed.layers["fc1"].inferred["in_features"] == 2048


@pytest.mark.parametrize("name,layer,expected", [
    ("multi_channel.json", "conv", (2, 3, 3)), ("conv_1x1.json", "conv1x1", (2, 6, 6)),
    ("pool_stride.json", "pool_s2", (1, 3, 3)), ("pool_stride.json", "pool_s1", (1, 2, 2)),
    ("pool_ceil_mode.json", "pool", (1, 3, 3)), ("dilated.json", "dilated", (1, 5, 5)),
    ("transposed.json", "up", (1, 8, 8)), ("padding_same_valid.json", "valid", (1, 3, 3)),
    ("padding_same_valid.json", "same", (1, 3, 3))])
def test_example_shapes_are_the_ones_their_lines_state(name: str, layer: str,
                                                       expected: tuple) -> None:
    design, a = _info(name)
    assert a.layers[layer].output_shape == expected
    h, w = expected[1:]
    assert f"{h}×{w}" in design.extra["look_at"] + design.extra.get("description", "")


@pytest.mark.parametrize("name,total", [
    ("multi_channel.json", 56), ("conv_1x1.json", 10), ("depthwise_separable.json", 656),
    ("flattened.json", 136), ("grouped.json", 152)])
def test_param_counts_quoted_by_the_lines_are_right(name: str, total: int) -> None:
    design, a = _info(name)
    assert a.total_params == total
    assert f"{total:,}" in design.extra["look_at"] or str(total) in design.extra["look_at"]


def test_grouped_example_feeds_each_output_from_its_group_only() -> None:
    design, a = _info("grouped.json")
    spec = explorer_spec("Conv2d", a.layers["gconv"].resolved, (8, 8, 8))
    assert list(spec.feeding_channels(0)) == [0, 1] and list(spec.feeding_channels(7)) == [6, 7]
    _, dw = _info("depthwise_separable.json")
    spec = explorer_spec("Conv2d", dw.layers["dw"].resolved, (16, 16, 16))
    assert list(spec.feeding_channels(5)) == [5]
