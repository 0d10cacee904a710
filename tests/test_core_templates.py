"""Block templates: each inserts ordinary layers that analyse cleanly and match
torch; removing an insertion restores the design exactly."""
from __future__ import annotations

import pytest

from designer.core import Design, InputSpec, analyse
from designer.core.templates import TEMPLATES, insert, remove
from designer.io import to_dict
from test_core_torch_equivalence import check_against_torch


def host() -> Design:
    d = Design("host", InputSpec(3, 16, 16))
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1})
    d.add_layer("ReLU")
    d.add_layer("AdaptiveAvgPool2d", {"output_size": 1})
    return d


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("params", [{}, {"out_channels": 8, "stride": 2, "kernel_size": 5}])
def test_template_inserts_a_valid_block(name: str, params: dict[str, int]) -> None:
    d = host()
    before = to_dict(d)
    accepted = {s.name for s in TEMPLATES[name].params}
    insertion = insert(d, name, "conv1", {k: v for k, v in params.items() if k in accepted})
    a = analyse(d)
    assert a.ok, [(w, e.message) for w, e in a.all_errors]
    last = insertion.layers[-1].id
    assert d.layer("relu1").inputs == [last]
    assert all(lay.id in d for lay in insertion.layers)
    check_against_torch(d)
    remove(d, insertion)
    assert to_dict(d) == before


def test_residual_block_projects_only_when_the_shape_changes() -> None:
    d = host()
    same = insert(d, "Residual block", "conv1", {"out_channels": 8, "stride": 1})
    assert not any(lay.id.endswith("proj") for lay in same.layers)
    other = insert(d, "Residual block", same.layers[-1].id, {"out_channels": 16, "stride": 2})
    assert any(lay.id.endswith("proj") for lay in other.layers)
    assert analyse(d).ok and len({lay.id for lay in d.layers}) == len(d.layers)


def test_port_templates_use_split_and_mul() -> None:
    d = host()
    shuffle = insert(d, "ShuffleNetV2 unit", "conv1", {"stride": 1})
    split = next(lay for lay in shuffle.layers if lay.type == "Split")
    cat = next(lay for lay in shuffle.layers if lay.type == "Concat")
    assert d.layer(f"{split.id.rsplit('_', 1)[0]}_pw1").inputs == [f"{split.id}:1"]
    assert cat.inputs[0] == split.id                      # port 0 goes straight through
    ir = insert(d, "Inverted residual", shuffle.layers[-1].id,
                {"out_channels": 8, "se": True, "activation": "Hardswish"})
    types = [lay.type for lay in ir.layers]
    assert {"Mul", "Hardsigmoid", "Hardswish", "Add"} <= set(types)
    se = insert(d, "Squeeze-excitation", ir.layers[-1].id, {"gate": "Hardsigmoid"})
    assert se.layers[-1].type == "Mul"
    a = analyse(d)
    assert a.ok, a.all_errors
    assert a.layers[se.layers[-1].id].output_shape == (8, 16, 16)
    check_against_torch(d)
