"""Hypothesis building blocks with output ports (schema v2) for the random-design
tests: a Split whose sections go through layers and come back together, a
squeeze-excitation style Mul gate, and MaxPool2d(return_indices) followed by a
MaxUnpool2d that takes its `indices` port."""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from designer.core import Design, analyse

NEW_ACTIVATIONS = ("ReLU6", "Hardswish", "Hardsigmoid", "Mish", "PReLU")
PORT_TYPES = ("Split", "Mul", "MaxUnpool2d")


def _pair(lo: int, hi: int) -> Any:
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2,
                                                   max_size=2))


def prelu_params(draw: Any, c: int, wild: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {}
    n = draw(st.integers(1, 4)) if wild else draw(st.sampled_from([1, c]))
    if n != 1 or draw(st.booleans()):
        p["num_parameters"] = n
    if draw(st.booleans()):
        p["init"] = draw(st.sampled_from([0.0, 0.1, 0.25]))
    return p


def _activation(draw: Any, design: Design, tip: str, c: int) -> str:
    t = draw(st.sampled_from(NEW_ACTIVATIONS + ("Identity",)))
    params = prelu_params(draw, c) if t == "PReLU" else {}
    return design.add_layer(t, params, inputs=[tip]).id


def _split_block(draw: Any, design: Design, tip: str, shape: tuple[int, ...],
                 wild: bool) -> str:
    rank = len(shape)
    dim = draw(st.sampled_from([1, 1, 1] + list(range(2, rank + 1)) + [-1]))
    d = dim % (rank + 1)
    length = shape[d - 1]
    if draw(st.booleans()):
        sections: Any = draw(st.integers(1, max(1, length) + (1 if wild else 0)))
    else:
        cuts = sorted(draw(st.sets(st.integers(1, max(1, length - 1)), max_size=3)))
        bounds = [0, *[x for x in cuts if x < length], length]
        sections = [b - a for a, b in zip(bounds, bounds[1:])]
        if wild and draw(st.integers(0, 3)) == 0:
            sections[-1] += 1
    params: dict[str, Any] = {"split_size_or_sections": sections}
    if dim != 1 or draw(st.booleans()):
        params["dim"] = dim
    split = design.add_layer("Split", params, inputs=[tip]).id
    info = analyse(design).layers[split]
    if not info.known:
        return split
    ports = [f"{split}:{k}" if k or draw(st.booleans()) else split
             for k in range(len(info.port_names))]
    ends = []
    for ref in ports:
        ends.append(_activation(draw, design, ref, shape[0])
                    if draw(st.booleans()) else ref)
    if d == 1 and len(ends) > 1 and len(set(ends)) == len(ends):
        ends = draw(st.permutations(ends))
        return design.add_layer("Concat", inputs=list(ends)).id
    pick = draw(st.sampled_from(ends))
    return design.add_layer("Identity", inputs=[pick]).id


def _gate_block(draw: Any, design: Design, tip: str, shape: tuple[int, ...]) -> str:
    c = shape[0]
    if draw(st.booleans()):
        pooled = design.add_layer("AdaptiveAvgPool2d", {"output_size": 1}, inputs=[tip]).id
        squeeze = design.add_layer("Conv2d", {"out_channels": draw(st.integers(1, 4)),
                                              "kernel_size": 1}, inputs=[pooled]).id
        act = design.add_layer(draw(st.sampled_from(["ReLU", "Hardswish"])),
                               inputs=[squeeze]).id
        excite = design.add_layer("Conv2d", {"out_channels": c, "kernel_size": 1},
                                  inputs=[act]).id
        gate = design.add_layer(draw(st.sampled_from(["Sigmoid", "Hardsigmoid"])),
                                inputs=[excite]).id
    else:
        gate = _activation(draw, design, tip, c)
    inputs = [gate, tip] if draw(st.booleans()) else [tip, gate]
    return design.add_layer("Mul", inputs=inputs).id


def _unpool_block(draw: Any, design: Design, tip: str, shape: tuple[int, ...],
                  wild: bool) -> str:
    k = draw(_pair(1, 3))
    ks = k if isinstance(k, list) else [k, k]
    p: dict[str, Any] = {"kernel_size": k, "return_indices": True}
    if draw(st.booleans()):
        p["stride"] = draw(_pair(1, 3))
    if draw(st.booleans()):
        p["padding"] = [draw(st.integers(0, ks[0] // 2)), draw(st.integers(0, ks[1] // 2))]
    if draw(st.booleans()):
        p["ceil_mode"] = draw(st.booleans())
    if wild and draw(st.booleans()):
        p["dilation"] = draw(_pair(1, 2))
    pool = design.add_layer("MaxPool2d", p, inputs=[tip]).id
    values = _activation(draw, design, pool, shape[0]) if draw(st.booleans()) else pool
    unpool = {key: p[key] for key in ("kernel_size", "stride", "padding") if key in p}
    if wild and draw(st.integers(0, 2)) == 0:
        unpool["kernel_size"] = draw(_pair(1, 3))
    indices = f"{pool}:{draw(st.sampled_from(['indices', '1']))}"
    if wild and draw(st.integers(0, 3)) == 0:
        indices = draw(st.sampled_from([pool, tip]))
        if indices == values:
            indices = f"{pool}:0"
    return design.add_layer("MaxUnpool2d", unpool, inputs=[values, indices]).id


def add_port_block(draw: Any, design: Design, tip: str, shape: tuple[int, ...],
                   wild: bool = False) -> str:
    """Add one block with ports after tip; returns the block's last layer id."""
    kinds = ["split"] + (["gate", "unpool"] if len(shape) == 3 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "split":
        return _split_block(draw, design, tip, shape, wild)
    if kind == "gate":
        return _gate_block(draw, design, tip, shape)
    return _unpool_block(draw, design, tip, shape, wild)
