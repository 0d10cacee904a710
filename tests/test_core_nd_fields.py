"""Receptive fields of 1-D and 3-D designs on every axis against the input
gradient in torch, as test_core_receptive_field does for 2-D: positive weights,
zero biases, positive inputs; max pooling replaced by a depthwise convolution
of the same window geometry (adaptive max by adaptive average). The unit checked
is the first whose field (and its neighbour's) lies inside the input."""
from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from torch import nn

from designer.core import Design, InputSpec, analyse
from designer.core.catalogue import RF
from designer.io import to_dict

SIZES = {1: (61,), 3: (11, 13, 9)}   # unequal sides, so that a mix-up of axes shows
ACTIVATIONS = ("ReLU", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "PReLU")


def _axes(lo: int, hi: int, rank: int) -> Any:
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=rank,
                                                   max_size=rank))


def _each(v: Any, rank: int) -> list[int]:
    return list(v) if isinstance(v, list) else [v] * rank


@st.composite
def uniform_layer(draw: Any, shape: tuple[int, ...]) -> tuple[str, dict[str, Any]]:
    rank = len(shape) - 1
    n = f"{rank}d"
    bn = "BatchNorm1d" if rank == 1 else "BatchNorm3d"
    t = draw(st.sampled_from([f"Conv{n}", f"Conv{n}", f"Conv{n}", f"MaxPool{n}",
                              f"AvgPool{n}", f"AdaptiveAvgPool{n}", f"AdaptiveMaxPool{n}", bn,
                              "Identity", f"Dropout{n}", *ACTIVATIONS]))
    p: dict[str, Any] = {}
    kmax = 5 if rank == 1 else 3
    if t.startswith("Conv"):
        p = {"out_channels": draw(st.integers(1, 2)), "kernel_size": draw(_axes(1, kmax, rank)),
             "stride": draw(st.one_of(st.just(1), _axes(1, 2, rank))),
             "dilation": draw(st.one_of(st.just(1), _axes(1, 2, rank))),
             "padding": draw(st.one_of(_axes(0, 2, rank), st.sampled_from(["same", "valid"]))),
             "padding_mode": draw(st.sampled_from(["zeros", "reflect", "replicate",
                                                   "circular"]))}
        if p["padding"] == "same":
            p["stride"] = 1
    elif t.startswith(("MaxPool", "AvgPool")):
        k = draw(_axes(1, 3, rank))
        p = {"kernel_size": k, "stride": draw(st.one_of(st.none(), _axes(1, 2, rank))),
             "padding": [draw(st.integers(0, ki // 2)) for ki in _each(k, rank)]}
        if t.startswith("MaxPool"):
            p["dilation"] = draw(_axes(1, 2, rank))
    elif t.startswith("Adaptive"):
        p = {"output_size": [draw(st.sampled_from([d for d in range(2, m + 1) if m % d == 0]
                                                  or [m])) for m in shape[1:]]}
    return t, p


def positive_module(t: str, p: dict[str, Any], c_in: int) -> nn.Module:
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}
    rank = int(t[-2]) if t[-2:] in ("1d", "3d") else None
    if t.startswith("Conv"):
        m = getattr(nn, t)(c_in, **kw)
    elif t.startswith("MaxPool"):
        m = getattr(nn, f"Conv{rank}d")(c_in, c_in, kw["kernel_size"],
                                        stride=kw.get("stride") or kw["kernel_size"],
                                        padding=kw["padding"], dilation=kw.get("dilation", 1),
                                        groups=c_in)
    elif t.startswith("AdaptiveMaxPool"):
        m = getattr(nn, f"AdaptiveAvgPool{rank}d")(kw["output_size"])
    elif t.startswith("BatchNorm"):
        m = getattr(nn, t)(c_in)
    else:
        m = getattr(nn, t)(**kw)
    with torch.no_grad():
        for name, q in m.named_parameters():
            q.fill_(0.0 if name == "bias" else 1.0 / q[0].numel() if q.dim() > 1 else 1.0)
    return m.double().eval()


class PositiveNet(nn.Module):
    def __init__(self, design: Design) -> None:
        super().__init__()
        a = analyse(design)
        self.plan = [(lay.id, a.layers[lay.id].sources, lay.type) for lay in design.layers]
        self.out = a.output_id
        self.layers = nn.ModuleDict()
        for lay in design.layers:
            if lay.type not in ("Add", "Concat"):
                src, port = a.layers[lay.id].sources[0]
                c = a.input_shape[0] if src == "input" else a.layers[src].port_shapes[port][0]
                self.layers[lay.id] = positive_module(lay.type, lay.params, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {"input": x}
        for lid, srcs, t in self.plan:
            xs = [values[s] for s, _ in srcs]
            if t == "Add":
                values[lid] = sum(xs[1:], xs[0])
            elif t == "Concat":
                values[lid] = torch.cat(xs, 1)
            else:
                values[lid] = self.layers[lid](xs[0])
        return values[self.out]  # type: ignore[index]


def field_bounds(model: nn.Module, shape: tuple[int, ...], unit: tuple[int, ...]
                 ) -> list[tuple[int, int]]:
    """Per spatial axis, the first and last input index with a non-zero gradient."""
    # small values: Adds double them, and Hardsigmoid has no gradient beyond 3
    x = torch.full((1, *shape), 0.01, dtype=torch.float64, requires_grad=True)
    y = model(x)
    y[(0, slice(None), *unit)].sum().backward()
    nz = (x.grad[0].abs().sum(0) > 0).nonzero()  # type: ignore[union-attr]
    assert len(nz), "no gradient at all"
    return [(int(nz[:, ax].min()), int(nz[:, ax].max())) for ax in range(len(unit))]


def inner_unit(rf: RF, out: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[int, ...] | None:
    unit = []
    for ax in range(len(sizes)):
        r, j, s0 = rf.size[ax], rf.jump[ax], rf.start[ax]
        i = max(0, math.ceil(((r - 1) / 2 - s0) / j))
        if i + 1 >= out[ax] or s0 + (i + 1) * j + (r - 1) / 2 > sizes[ax] - 1:
            return None
        unit.append(i)
    return tuple(unit)


def _add_uniform(draw: Any, design: Design, tip: str) -> str | None:
    a = analyse(design)
    shape = a.input_shape if tip == "input" else a.layers[tip].output_shape
    t, p = draw(uniform_layer(shape))
    lay = design.add_layer(t, p, inputs=[tip])
    out = analyse(design).layers[lay.id].output_shape
    if out is None or len(out) != len(shape):
        design.remove_layer(lay.id)
        return None
    return lay.id


@st.composite
def uniform_stack(draw: Any, branches: bool = False) -> Design:
    rank = draw(st.sampled_from([1, 3]))
    design = Design("rf", InputSpec.from_shape((draw(st.integers(1, 2)), *SIZES[rank])))
    tip = "input"
    for _ in range(draw(st.integers(1, 4))):
        if not (branches and draw(st.booleans())):
            tip = _add_uniform(draw, design, tip) or tip
            continue
        snapshot, tips = design.copy(), []
        for n in range(2):
            end = tip
            for _ in range(draw(st.integers(1 - n, 2))):
                end = _add_uniform(draw, design, end) or end
            tips.append(end)
        if len(set(tips)) < 2:
            design = snapshot
            continue
        merge = design.add_layer(draw(st.sampled_from(["Add", "Concat"])), inputs=tips)
        a = analyse(design)
        fields = [a.layers[s].rf if s != "input" else None for s, _ in a.layers[merge.id].sources]
        jumps = {f.jump if f is not None else (1.0,) * rank for f in fields}
        if not a.ok or len(jumps) > 1:
            design = snapshot
        else:
            tip = merge.id
    assume(design.layers and analyse(design).ok)
    return design


def check_field(design: Design) -> None:
    note(str(to_dict(design)["design"]))
    a = analyse(design)
    info = a.layers[a.output_id]  # type: ignore[index]
    rf = info.rf
    assert rf is not None and not rf.whole and len(rf.size) == len(a.input_shape) - 1
    unit = inner_unit(rf, info.output_shape[1:], a.input_shape[1:])  # type: ignore[index]
    assume(unit is not None)
    model = PositiveNet(design)
    bounds = field_bounds(model, a.input_shape, unit)  # type: ignore[arg-type]
    right = field_bounds(model, a.input_shape, tuple(i + 1 for i in unit))  # type: ignore[union-attr]
    for ax, (lo, hi) in enumerate(bounds):
        assert hi - lo + 1 == rf.size[ax], ("size", ax)
        assert (lo + hi) / 2 == rf.start[ax] + unit[ax] * rf.jump[ax], ("start", ax)  # type: ignore[index]
        assert (sum(right[ax]) - sum(bounds[ax])) / 2 == rf.jump[ax], ("jump", ax)


@settings(max_examples=60, deadline=None)
@given(uniform_stack())
def test_nd_receptive_field_equals_gradient_support(design: Design) -> None:
    check_field(design)


@settings(max_examples=40, deadline=None)
@given(uniform_stack(branches=True))
def test_nd_receptive_field_of_add_and_concat_is_the_union(design: Design) -> None:
    check_field(design)


def test_c3d_first_pool_keeps_the_time_axis() -> None:
    """C3D's 1×2×2 first pool: the field grows in height and width only."""
    d = Design("c3d", InputSpec(3, 16, 16, depth=8))
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    d.add_layer("MaxPool3d", {"kernel_size": [1, 2, 2]})
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    rf = analyse(d).layers["conv2"].rf
    assert rf is not None
    assert rf.size == (5.0, 8.0, 8.0) and rf.jump == (1.0, 2.0, 2.0)
