"""The design model: events, ids, cycle refusal, remove/restore round trips."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.core import Design, DesignError, Event, InputSpec
from designer.io import to_dict


def recorder(design: Design) -> list[tuple[str, str | None, str | None]]:
    seen: list[tuple[str, str | None, str | None]] = []

    def listen(e: Event) -> None:
        seen.append((e.kind, e.layer_id, e.other))
    design.subscribe(listen)
    return seen


def stack(*types: str) -> Design:
    d = Design("t", InputSpec(3, 8, 8))
    for t in types:
        d.add_layer(t, {"out_channels": 4, "kernel_size": 3} if t == "Conv2d" else None)
    return d


def test_mutations_emit_one_event_each() -> None:
    d = stack("Conv2d", "ReLU")
    seen = recorder(d)
    d.add_layer("Identity", layer_id="skip", inputs=["conv1"])
    d.set_param("conv1", "padding", 1)
    d.move_layer("relu1", (10.0, 20.0))
    d.set_frozen("conv1", True)
    d.rename_layer("relu1", "act")
    d.set_input_spec(InputSpec(1, 4, 4))
    d.set_name("renamed")
    d.set_output("act")
    assert seen == [("layer_added", "skip", None), ("params_changed", "conv1", None),
                    ("layer_moved", "relu1", None), ("frozen_changed", "conv1", None),
                    ("layer_renamed", "act", "relu1"), ("input_changed", None, None),
                    ("name_changed", None, None), ("output_changed", None, None)]
    assert d.layer("act").inputs == ["conv1"] and d.output == "act"


def test_edge_events_and_unsubscribe() -> None:
    d = stack("Conv2d", "ReLU", "Identity")
    seen = recorder(d)
    d.connect("conv1", "identity1")
    d.disconnect("relu1", "identity1")
    assert seen == [("edge_added", "identity1", "conv1"), ("edge_removed", "identity1", "relu1")]
    d.unsubscribe(d._listeners[0])
    d.add_layer("ReLU")
    assert len(seen) == 2


def test_ids_are_unique_and_input_is_reserved() -> None:
    d = stack("Conv2d", "Conv2d", "ReLU")
    assert [lay.id for lay in d.layers] == ["conv1", "conv2", "relu1"]
    with pytest.raises(DesignError, match="already exists"):
        d.add_layer("ReLU", layer_id="conv1")
    with pytest.raises(DesignError, match="reserved"):
        d.add_layer("ReLU", layer_id="input")
    with pytest.raises(DesignError, match="already exists"):
        d.rename_layer("conv2", "conv1")
    assert d.unique_id("conv1") == "conv3" and d.unique_id("input") == "input1"
    with pytest.raises(DesignError, match="unknown layer type"):
        d.add_layer("Conv4d")
    with pytest.raises(DesignError, match="unknown layer"):
        d.add_layer("ReLU", inputs=["nowhere"])


def test_cycles_are_refused() -> None:
    d = stack("Conv2d", "ReLU", "Identity")
    before = to_dict(d)
    with pytest.raises(DesignError, match="cycle"):
        d.connect("identity1", "conv1")
    with pytest.raises(DesignError, match="cycle"):
        d.set_inputs("relu1", ["relu1"])
    with pytest.raises(DesignError, match="cycle"):
        d.set_inputs("conv1", ["input", "identity1"])
    assert to_dict(d) == before


def test_rewiring_to_a_layer_inserted_above_skips_the_walk_upstream(monkeypatch) -> None:
    """A layer that reads only what the rewired layer already reads cannot close
    a cycle (no walk up a long chain); any other new input still is checked."""
    d = stack(*["Identity"] * 30)
    walks = []
    real = Design.upstream_ids
    monkeypatch.setattr(Design, "upstream_ids",
                        lambda self, lid: walks.append(lid) or real(self, lid))
    d.add_layer("ReLU", inputs=["identity15"], layer_id="new")
    d.set_inputs("identity16", ["new"])            # an insert below identity15
    assert walks == [] and d.layer("identity16").inputs == ["new"]
    d.add_layer("Add", inputs=["identity20", "identity3"], layer_id="mix")
    with pytest.raises(DesignError, match="cycle"):   # mix reads identity20, below
        d.set_inputs("identity18", ["identity17", "mix"])
    assert walks == ["mix"]
    # identity1 reads only the input, which identity3 reads too: still refused,
    # as identity3 is downstream of identity1
    d.set_inputs("identity3", ["identity2", "input"])
    with pytest.raises(DesignError, match="cycle"):
        d.set_inputs("identity1", ["input", "identity3"])


@settings(max_examples=60)
@given(st.data())
def test_random_rewiring_refuses_exactly_the_cycles(data: st.DataObject) -> None:
    """Whatever is rewired, set_inputs refuses exactly when the new inputs would
    put the layer upstream of itself (checked by a plain walk here)."""
    d = Design("t", InputSpec(3, 8, 8))
    for n in range(data.draw(st.integers(2, 9))):
        ids = ["input"] + [lay.id for lay in d.layers]
        srcs = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
        d.add_layer("Add" if len(srcs) > 1 else "Identity", inputs=srcs, layer_id=f"n{n}")
    target = data.draw(st.sampled_from([lay.id for lay in d.layers]))
    ids = ["input"] + [lay.id for lay in d.layers]
    new = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))

    def reaches(start: str) -> bool:   # target upstream of start (or start itself)
        seen, todo = set(), [start]
        while todo:
            cur = todo.pop()
            if cur == target:
                return True
            if cur != "input" and cur not in seen:
                seen.add(cur)
                todo.extend(d.layer(cur).inputs)
        return False

    cycle = any(reaches(src) for src in new if src not in d.layer(target).inputs)
    if cycle:
        with pytest.raises(DesignError, match="cycle"):
            d.set_inputs(target, new)
    else:
        d.set_inputs(target, new)
        assert d.layer(target).inputs == new


@settings(max_examples=60)
@given(st.data())
def test_remove_then_restore_is_a_round_trip(data: st.DataObject) -> None:
    d = Design("t", InputSpec(3, 8, 8))
    for n in range(data.draw(st.integers(1, 7))):
        ids = ["input"] + [lay.id for lay in d.layers]
        srcs = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
        d.add_layer("Add" if len(srcs) > 1 else "Identity", inputs=srcs, layer_id=f"n{n}")
    d.set_output(data.draw(st.sampled_from([None] + [lay.id for lay in d.layers])))
    before = to_dict(d)
    victims = data.draw(st.lists(st.sampled_from([lay.id for lay in d.layers]),
                                 min_size=1, unique=True))
    undo = [d.remove_layer(v) for v in victims]
    for v in victims:
        assert v not in d and all(v not in lay.inputs for lay in d.layers)
    for layer, index, consumers in reversed(undo):
        d.restore_layer(layer, index, consumers)
    assert to_dict(d) == before


def test_copy_is_deep_and_keeps_no_listeners() -> None:
    d = stack("Conv2d")
    seen = recorder(d)
    c = d.copy()
    c.set_param("conv1", "kernel_size", 5)
    assert d.layer("conv1").params["kernel_size"] == 3 and seen == []
    d.replace_with(c)
    assert d.layer("conv1").params["kernel_size"] == 5 and seen == [("reset", None, None)]


def test_remove_and_restore_events() -> None:
    d = stack("Conv2d", "ReLU")
    d.add_layer("Add", inputs=["conv1", "relu1"])
    d.set_output("add1")
    seen = recorder(d)
    layer, index, consumers = d.remove_layer("conv1")
    assert seen == [("edge_removed", "relu1", "conv1"), ("edge_removed", "add1", "conv1"),
                    ("layer_removed", "conv1", None)]
    del seen[:]
    undo = d.remove_layer("add1")
    assert d.output is None and seen[-2:] == [("output_changed", None, None),
                                              ("layer_removed", "add1", None)]
    del seen[:]
    d.restore_layer(*undo)
    d.restore_layer(layer, index, consumers)
    assert d.output == "add1"
    assert seen == [("layer_added", "add1", None), ("output_changed", None, None),
                    ("layer_added", "conv1", None), ("edge_added", "relu1", "conv1"),
                    ("edge_added", "add1", "conv1")]
    assert d.layer("add1").inputs == ["conv1", "relu1"]


def test_move_layers_moves_all_in_one_event_and_checks_every_id_first() -> None:
    design = Design("moves")
    a = design.add_layer("ReLU", layer_id="a", position=(0.0, 0.0))
    b = design.add_layer("ReLU", layer_id="b", position=(0.0, 120.0))
    events = []
    design.subscribe(events.append)
    design.move_layers({"a": (10.0, 5.0), "b": None})
    assert a.position == (10.0, 5.0) and b.position is None
    assert [(e.kind, e.ids) for e in events] == [("layers_moved", ("a", "b"))]
    with pytest.raises(DesignError):
        design.move_layers({"a": (1.0, 1.0), "nope": (2.0, 2.0)})
    assert a.position == (10.0, 5.0) and len(events) == 1   # nothing moved
