"""Validation messages: in words a learner understands, on the layer that causes
them, with a concrete fix that really fixes; invalid designs never raise."""
from __future__ import annotations

from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st

from designer.core import Design, InputSpec, Layer, analyse
from designer.core.analysis import Analysis
from designer.core.catalogue import all_types, get_type
from designer.core.params import Fix


def design(shape: tuple[int, int, int], *layers: tuple[str, dict[str, Any]]) -> Design:
    d = Design("t", InputSpec(*shape))
    for t, p in layers:
        d.add_layer(t, p)
    return d


def only_error(a: Analysis, lid: str) -> tuple[str, Fix | None]:
    errors = [(where, e) for where, e in a.all_errors]
    assert [w for w, _ in errors] == [lid], errors
    return errors[0][1].message, errors[0][1].fix


def apply_fix(d: Design, lid: str, fix: Fix) -> None:
    """What the GUI's apply_fix_command does, on the plain model."""
    if fix.insert_before:
        lay = d.layer(lid)
        new = d.add_layer(fix.insert_before, inputs=list(lay.inputs), index=d.index_of(lid))
        d.set_inputs(lid, [new.id])
    for name, value in fix.params.items():
        d.set_param(lid, name, value)


def test_add_with_different_channel_counts() -> None:
    d = design((3, 8, 8), ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}))
    d.add_layer("Add", inputs=["input", "conv1"])
    message, _ = only_error(analyse(d), "add1")
    assert "same shape" in message and "3×8×8" in message and "4×8×8" in message
    assert "1×1 Conv2d" in message


def test_kernel_larger_than_input_offers_padding() -> None:
    d = design((1, 4, 4), ("Conv2d", {"out_channels": 2, "kernel_size": 5}))
    message, fix = only_error(analyse(d), "conv1")
    assert message == "kernel 5 is larger than the 4×4 input: use padding 1 or a smaller kernel"
    assert fix is not None and fix.params == {"padding": 1}
    apply_fix(d, "conv1", fix)
    a = analyse(d)
    assert a.ok and a.layers["conv1"].output_shape == (2, 2, 2)


def test_groups_not_dividing_channels_offers_a_divisor() -> None:
    d = design((6, 8, 8), ("Conv2d", {"out_channels": 12, "kernel_size": 3, "groups": 4}))
    message, fix = only_error(analyse(d), "conv1")
    assert "groups=4 does not divide the 6 input channels" in message
    assert fix is not None and fix.params == {"groups": 3}
    apply_fix(d, "conv1", fix)
    assert analyse(d).ok


def test_linear_on_a_feature_map_offers_flatten() -> None:
    d = design((3, 4, 4), ("Linear", {"out_features": 10}))
    message, fix = only_error(analyse(d), "fc1")
    assert "flat vector" in message and "3×4×4" in message and "Flatten" in message
    assert fix is not None and fix.insert_before == "Flatten"
    apply_fix(d, "fc1", fix)
    a = analyse(d)
    assert a.ok and a.layers["fc1"].input_shapes == [(48,)]


def test_several_outputs_are_reported_on_the_dangling_layers() -> None:
    d = design((3, 8, 8), ("ReLU", {}), ("Identity", {}))
    d.add_layer("Sigmoid", inputs=["relu1"])
    a = analyse(d)
    message, _ = only_error(a, "identity1")
    assert "2 outputs" in message and "'sigmoid1' is taken as the output" in message
    assert a.output_id == "sigmoid1"
    d.set_output("identity1")
    assert analyse(d).ok


def test_layers_after_an_error_are_unknown_without_errors_of_their_own() -> None:
    d = design((3, 4, 4), ("Conv2d", {"out_channels": 8, "kernel_size": 7}),
               ("ReLU", {}), ("Flatten", {}), ("Linear", {"out_features": 2}))
    a = analyse(d)
    only_error(a, "conv1")
    for lid in ("relu1", "flatten1", "fc1"):
        assert a.layers[lid].output_shape is None and a.layers[lid].params == 0
    assert a.output_shape is None and not a.ok


def test_design_level_errors() -> None:
    assert "no layers" in analyse(Design()).errors[0].message
    d = design((3, 8, 8), ("Add", {}))
    message, _ = only_error(analyse(d), "add1")
    assert "at least 2 inputs" in message
    d = design((3, 8, 8), ("ReLU", {}))
    d.add_layer("ReLU", inputs=["input", "relu1"])
    assert "takes one input but has 2" in only_error(analyse(d), "relu2")[0]
    d = design((3, 8, 8), ("Conv2d", {"out_channels": 2}))
    message, fix = only_error(analyse(d), "conv1")
    assert message == "Conv2d needs a value for kernel_size" and fix is not None
    d = design((3, 8, 8), ("ReLU", {"inplace": True}))
    message, fix = only_error(analyse(d), "relu1")
    assert "no parameter 'inplace'" in message and fix is not None
    d = design((3, 8, 8), ("Conv2d", {"out_channels": 2, "kernel_size": 3, "in_channels": 4}))
    message, fix = only_error(analyse(d), "conv1")
    assert "in_channels is 4 in the file but the input gives 3" in message
    assert fix is not None and fix.params == {"in_channels": None}


# --- every offered fix leads to a layer without errors ----------------------------

def _value(kind: str) -> Any:
    ints = st.integers(0, 9)
    pairs = st.lists(st.integers(0, 9), min_size=2, max_size=2)
    return {
        "int": st.integers(-4, 9), "float": st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0]),
        "bool": st.booleans(), "pair": st.one_of(ints, pairs),
        "padding": st.one_of(ints, pairs, st.sampled_from(["same", "valid", "full"])),
        "opt_pair": st.one_of(st.none(), ints, pairs),
        "adaptive": st.one_of(ints, st.lists(st.one_of(st.none(), ints), min_size=2, max_size=2)),
        "opt_int": st.one_of(st.none(), st.integers(-4, 9)),
        "opt_float": st.one_of(st.none(), st.sampled_from([0.5, 2.0, -1.0])),
        "opt_bool": st.one_of(st.none(), st.booleans()),
        "shape": st.one_of(st.none(), st.integers(1, 9), st.lists(st.integers(1, 9), max_size=3)),
    }.get(kind, st.just("?"))


@st.composite
def one_layer(draw: Any) -> Design:
    t = draw(st.sampled_from([t for t in all_types() if t.max_inputs == 1]))
    params: dict[str, Any] = {}
    for spec in t.params:
        if spec.inferred or not draw(st.booleans()):
            continue
        params[spec.name] = (draw(st.sampled_from(spec.choices)) if spec.choices
                             else draw(_value(spec.kind)))
    shape = draw(st.sampled_from([(4, 6, 5), (2, 1, 3), (8, 3, 3), (6, 16, 16)]))
    d = Design("t", InputSpec(*shape))
    if draw(st.booleans()):
        d.add_layer("Flatten")
    d.add_layer(t.name, params, layer_id="x")
    return d


@settings(max_examples=400)
@given(one_layer())
def test_following_the_fixes_gives_a_valid_layer(d: Design) -> None:
    for _ in range(12):
        note(f"{d.layers[-1].type} {d.layers[-1].params} on {d.input.shape}")
        a = analyse(d)
        errors = a.layers["x"].errors
        if not errors or errors[0].fix is None:
            break
        apply_fix(d, "x", errors[0].fix)
    assert not errors or errors[0].fix is None, errors[0].message


# --- invalid designs never raise ----------------------------------------------------

JUNK = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 10 ** 6),
                              st.floats(allow_nan=True), st.text(max_size=6)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=4), inner,
                                                            max_size=2)), max_leaves=6)


@st.composite
def junk_design(draw: Any) -> Design:
    """Anything the model can hold, bypassing its checks: bad params, missing
    and cyclic references, empty or huge inputs, unknown types."""
    names = [t.name for t in all_types()] + ["Conv4d", ""]
    d = Design("junk", InputSpec(*draw(st.lists(st.one_of(st.integers(-2, 40),
                                                            st.just(10 ** 9)),
                                                  min_size=3, max_size=3))))
    ids = [f"l{i}" for i in range(draw(st.integers(0, 6)))]
    layers = []
    for lid in ids:
        t = draw(st.sampled_from(names))
        spec = get_type(t) if t in {x.name for x in all_types()} else None
        keys = [s.name for s in spec.params] if spec else []
        params = draw(st.dictionaries(st.sampled_from(keys + ["junk"]), JUNK, max_size=4))
        inputs = draw(st.lists(st.sampled_from(ids + ["input", "ghost"]), max_size=3))
        layers.append(Layer(lid, t, params, inputs, frozen=draw(st.booleans())))
    d.set_layers(layers)
    d.output = draw(st.sampled_from([None, "ghost"] + ids))
    return d


@settings(max_examples=400)
@given(junk_design())
def test_invalid_designs_never_raise(d: Design) -> None:
    from designer.core.report import summary_dict, summary_table
    a = analyse(d)
    summary_table(d, a)
    summary_dict(d, a)
    for info in a.layers.values():
        assert (info.output_shape is None) or all(isinstance(n, int) and n >= 1
                                                  for n in info.output_shape)
    if not a.ok:
        assert all(e.message for _, e in a.all_errors)


def test_huge_designs_analyse_quickly() -> None:
    """The largest input a file may give, flattened to 4.4e12 features, then
    layers whose messages search for divisors or pooling windows."""
    import time
    d = design((16384, 16384, 16384), ("AdaptiveAvgPool2d", {"output_size": [None, 4095]}),
               ("Flatten", {}), ("GroupNorm", {"num_groups": 65535}))
    t0 = time.perf_counter()
    a = analyse(d)
    assert time.perf_counter() - t0 < 2.0
    message, fix = only_error(a, "groupnorm1")
    assert "num_groups=65535 does not divide" in message and fix is not None
    assert a.layers["flatten1"].output_shape == (16384 * 16384 * 4095,)


def test_overflowing_sizes_and_fields_stay_reportable() -> None:
    import json
    from designer.core.report import summary_dict, summary_table
    d = design((1, 16384, 16384), *[("Upsample", {"scale_factor": 63.5})] * 3)
    message, _ = only_error(analyse(d), "upsample3")
    assert "larger than 2,147,483,648 pixels a side" in message
    d = design((1, 1, 1), *[("Conv2d", {"out_channels": 1, "kernel_size": 1, "stride": 64})]
               * 200)  # the jump overflows a float
    a = analyse(d)
    assert a.ok
    json.dumps(summary_dict(d, a), allow_nan=False)
    assert "conv200  Conv2d  1×1×1" in summary_table(d, a)
