"""Layer names for submodules and generated code: legal, unique, never an
attribute of the module they are attached to."""
from __future__ import annotations

import builtins
import keyword

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.core import Design, InputSpec
from designer.core.naming import layer_names


def test_no_layer_id_can_shadow_a_module_attribute() -> None:
    from designer.nn.build import build
    probe = Design("p", InputSpec(1, 2, 2))
    probe.add_layer("Identity")
    model = build(probe)
    taken = set(dir(model)) - set(model._modules)
    ids = sorted({n for n in taken if not n.startswith("__")}
                 | {"class", "None", "print", "self", "x", "forward"})
    d = Design("all", InputSpec(1, 2, 2))
    for lid in ids:
        d.add_layer("Identity", layer_id=lid)
    names = layer_names(d)
    assert not set(names.values()) & taken
    out = build(d).forward_all(torch.ones(1, 1, 2, 2))
    assert set(out) == set(names.values()) | {"input"}


@settings(max_examples=200)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=12, unique=True))
def test_names_are_unique_legal_identifiers(ids: list[str]) -> None:
    d = Design("t", InputSpec(1, 2, 2))
    for lid in ids:
        if lid != "input":
            d.add_layer("Identity", layer_id=lid)
    names = list(layer_names(d).values())
    assert len(set(names)) == len(names)
    for n in names:
        assert n.isidentifier() and n.isascii() and not keyword.iskeyword(n)
        assert not keyword.issoftkeyword(n) and n not in dir(builtins)
        assert not n.startswith("_") and len(n) <= 50
