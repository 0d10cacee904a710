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
