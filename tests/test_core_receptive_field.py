"""Receptive fields (size, jump, start) against the input gradient in torch.

For a single-path design with positive weights, zero biases, positive inputs and
activations with positive slope, the input pixels with a non-zero gradient of one
output unit are exactly that unit's receptive field. MaxPool picks one tap, so
the torch model here replaces it by a depthwise convolution with the same window
geometry (kernel, stride, padding, dilation) and positive weights; adaptive max
pooling likewise by adaptive average pooling. The unit checked is the first one
whose field lies inside the input (a clipped field is smaller by design), and
jump is checked with its right/lower neighbour.

Split sections go on through their ports (a height/width split is checked
beyond its cut, where fields are not clipped); Mul's field is the union of
its inputs'. MaxUnpool2d is not checked here: which pixels reach an unpooled
unit depends on where the maxima were (its field is the transposed-window
bound, like ConvTranspose2d's).

Upsampling (ConvTranspose2d, Upsample) and adaptive pooling with sizes that do
not divide give fields that differ from unit to unit; the analysis' triple is
an approximation there, checked only loosely (see the last test).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from torch import nn

from designer.core import Design, InputSpec, analyse
from designer.core.analysis import INPUT_RF
from designer.core.catalogue import RF
from designer.io import to_dict

H, W = 61, 47  # not square, so that a mix-up of the axes shows
ACTIVATIONS = ("ReLU", "LeakyReLU", "GELU", "SiLU", "ELU", "Sigmoid", "Tanh", "ReLU6",
               "Hardswish", "Hardsigmoid", "Mish", "PReLU")


def _pair(lo: int, hi: int) -> Any:
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2, max_size=2))


@st.composite
def uniform_layer(draw: Any, shape: tuple[int, int, int]) -> tuple[str, dict[str, Any]]:
    t = draw(st.sampled_from(["Conv2d", "Conv2d", "Conv2d", "MaxPool2d", "AvgPool2d",
                              "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm2d",
                              "Identity", "Dropout", "ChannelShuffle", *ACTIVATIONS]))
    p: dict[str, Any] = {}
    if t == "Conv2d":
        p = {"out_channels": draw(st.integers(1, 3)), "kernel_size": draw(_pair(1, 5)),
             "stride": draw(st.one_of(st.just(1), _pair(1, 2))),
             "dilation": draw(st.one_of(st.just(1), _pair(1, 3))),
             "padding": draw(st.one_of(_pair(0, 3), st.sampled_from(["same", "valid"]))),
             "padding_mode": draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))}
        if p["padding"] == "same":
            p["stride"] = 1
    elif t in ("MaxPool2d", "AvgPool2d"):
        k = draw(_pair(1, 4))
        ks = k if isinstance(k, list) else [k, k]
        p = {"kernel_size": k, "stride": draw(st.one_of(st.none(), _pair(1, 3))),
             "padding": [draw(st.integers(0, ks[0] // 2)), draw(st.integers(0, ks[1] // 2))]}
        if t == "MaxPool2d":
            p["dilation"] = draw(_pair(1, 2))
    elif t.startswith("Adaptive"):
        # divisible sizes only: then every window has the same size and spacing
        p = {"output_size": [draw(st.sampled_from([d for d in range(2, n + 1) if n % d == 0]
                                                  or [n])) for n in shape[1:]]}
    elif t == "ChannelShuffle":
        p = {"groups": 1}
    return t, p


def positive_module(t: str, p: dict[str, Any], c_in: int) -> nn.Module:
    """A torch module with the layer's window geometry and positive weights."""
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}
    if t in ("Conv2d", "ConvTranspose2d"):
        m = getattr(nn, t)(c_in, **kw)
    elif t == "Linear":
        m = nn.Linear(c_in, **kw)
    elif t == "MaxPool2d":
        kw.setdefault("stride", None)
        m = nn.Conv2d(c_in, c_in, kw["kernel_size"], stride=kw["stride"] or kw["kernel_size"],
                      padding=kw["padding"], dilation=kw.get("dilation", 1), groups=c_in)
    elif t == "AdaptiveMaxPool2d":
        m = nn.AdaptiveAvgPool2d(kw["output_size"])
    elif t == "BatchNorm2d":
        m = nn.BatchNorm2d(c_in)
    else:
        m = getattr(nn, t)(**kw)
    with torch.no_grad():
        for name, q in m.named_parameters():
            # weights ~ 1/fan-in keep values near the input's, so no activation saturates
            q.fill_(0.0 if name == "bias" else 1.0 / q[0].numel() if q.dim() > 1 else 1.0)
    return m.double().eval()


class PositiveNet(nn.Module):
    """The design with positive_module layers; Add sums, Mul multiplies, Concat
    joins channels, Split gives one tensor per port."""

    def __init__(self, design: Design) -> None:
        super().__init__()
        a = analyse(design)
        self.plan = [(lay.id, a.layers[lay.id].sources, lay.type, lay.params)
                     for lay in design.layers]
        self.out = a.output_id
        self.layers = nn.ModuleDict()
        for lay in design.layers:
            if lay.type not in ("Add", "Concat", "Mul", "Split"):
                src, port = a.layers[lay.id].sources[0]
                c = (a.input_shape[0] if src == "input"
                     else a.layers[src].port_shapes[port][0])
                self.layers[lay.id] = positive_module(lay.type, lay.params, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, Any] = {"input": x}
        for lid, srcs, t, p in self.plan:
            xs = [values[s][port] if isinstance(values[s], tuple) else values[s]
                  for s, port in srcs]
            if t == "Add":
                values[lid] = sum(xs[1:], xs[0])
            elif t == "Mul":
                values[lid] = math.prod(xs[1:], start=xs[0])
            elif t == "Concat":
                values[lid] = torch.cat(xs, 1)
            elif t == "Split":
                values[lid] = torch.split(xs[0], p["split_size_or_sections"], p.get("dim", 1))
            else:
                values[lid] = self.layers[lid](xs[0])
        out = values[self.out]  # type: ignore[index]
        return out[0] if isinstance(out, tuple) else out


def field_bounds(model: nn.Module, shape: tuple[int, ...], unit: tuple[int, int]
                 ) -> tuple[tuple[int, int], tuple[int, int]]:
    """Per axis, the first and last input index with a non-zero gradient."""
    # small values: Adds double them, and Hardsigmoid has no gradient beyond 3
    x = torch.full((1, *shape), 0.01, dtype=torch.float64, requires_grad=True)
    y = model(x)
    y[0, :, unit[0], unit[1]].sum().backward()  # all channels: Concat's too
    nz = (x.grad[0].abs().sum(0) > 0).nonzero()  # type: ignore[union-attr]
    assert len(nz), "no gradient at all"
    return ((int(nz[:, 0].min()), int(nz[:, 0].max())),
            (int(nz[:, 1].min()), int(nz[:, 1].max())))


def inner_unit(rf: RF, out_hw: tuple[int, int], in_hw: tuple[int, int],
               low: tuple[int, int] = (0, 0)) -> tuple[int, int] | None:
    """The first unit per axis whose field, and its neighbour's, is inside the
    input (from row/column `low` on)."""
    unit = []
    for ax in range(2):
        r, j, s0 = rf.size[ax], rf.jump[ax], rf.start[ax]
        i = max(0, math.ceil((low[ax] + (r - 1) / 2 - s0) / j))
        if i + 1 >= out_hw[ax] or s0 + (i + 1) * j + (r - 1) / 2 > in_hw[ax] - 1:
            return None
        unit.append(i)
    return unit[0], unit[1]


def _add_uniform(draw: Any, design: Design, tip: str) -> str | None:
    a = analyse(design)
    src, port = design.source_of(tip), design.port_of(tip)   # tip may be "split:1"
    shape = a.input_shape if src == "input" else a.layers[src].port_shapes[int(port or 0)]
    t, p = draw(uniform_layer(shape))
    lay = design.add_layer(t, p, inputs=[tip])
    out = analyse(design).layers[lay.id].output_shape
    if out is None or len(out) != 3:
        design.remove_layer(lay.id)
        return None
    return lay.id


@st.composite
def uniform_stack(draw: Any, branches: bool = False) -> Design:
    """A single path of uniform layers; with branches, also residual (Add) and
    inception-like (Concat) blocks whose branches have the same jump."""
    design = Design("rf", InputSpec(draw(st.integers(1, 2)), H, W))
    tip = "input"
    for _ in range(draw(st.integers(1, 5))):
        if not (branches and draw(st.booleans())):
            tip = _add_uniform(draw, design, tip) or tip
            continue
        snapshot, tips = design.copy(), []
        kind = draw(st.sampled_from(["Add", "Concat", "Mul", "Split", "SpatialSplit"]))
        if kind == "SpatialSplit":
            # the input's lower rows (or right columns) go on; fields are then
            # clipped at the cut, so check_field looks only beyond it
            if tip != "input":
                continue
            a = analyse(design)
            shape = a.input_shape if tip == "input" else a.layers[tip].output_shape
            dim = draw(st.sampled_from([2, 3]))
            n = shape[dim - 1]  # type: ignore[index]
            if n < 2:
                continue
            cut = draw(st.integers(1, n - 1))
            split = design.add_layer("Split", {"split_size_or_sections": [cut, n - cut],
                                               "dim": dim}, inputs=[tip]).id
            tip = _add_uniform(draw, design, f"{split}:1") or \
                design.add_layer("Identity", inputs=[f"{split}:1"]).id
            continue
        start = [tip, tip]
        if kind == "Split":
            a = analyse(design)
            c = a.input_shape[0] if tip == "input" else a.layers[tip].output_shape[0]  # type: ignore[index]
            if c < 2:
                continue
            split = design.add_layer("Split", {"split_size_or_sections": [c // 2, c - c // 2]},
                                     inputs=[tip]).id
            start, kind = [split, f"{split}:1"], "Concat"
        for n in range(2):
            end = start[n]
            for _ in range(draw(st.integers(1 - n, 2))):
                end = _add_uniform(draw, design, end) or end
            tips.append(end)
        if len(set(tips)) < 2:
            design = snapshot
            continue
        merge = design.add_layer(kind, inputs=tips)
        a = analyse(design)
        fields = [INPUT_RF if s == "input" else a.layers[s].port_rfs[k]
                  for s, k in a.layers[merge.id].sources]
        if not a.ok or fields[0].jump != fields[1].jump:  # type: ignore[union-attr]
            design = snapshot
        else:
            tip = merge.id
    assume(design.layers and analyse(design).ok)
    return design


@settings(max_examples=120, deadline=None)
@given(uniform_stack())
def test_receptive_field_equals_gradient_support(design: Design) -> None:
    check_field(design)


@settings(max_examples=80, deadline=None)
@given(uniform_stack(branches=True))
def test_receptive_field_of_add_and_concat_is_the_union(design: Design) -> None:
    check_field(design)


def check_field(design: Design) -> None:
    note(str(to_dict(design)["design"]))
    a = analyse(design)
    info = a.layers[a.output_id]  # type: ignore[index]
    rf = info.rf
    assert rf is not None and not rf.whole
    low = [0, 0]
    first = design.layers[0]
    if first.type == "Split" and first.params.get("dim") in (2, 3):   # input split at a cut
        low[first.params["dim"] - 2] = first.params["split_size_or_sections"][0]
    unit = inner_unit(rf, info.output_shape[1:], (H, W), (low[0], low[1]))  # type: ignore[index]
    assume(unit is not None)
    model = PositiveNet(design)
    bounds = field_bounds(model, a.input_shape, unit)  # type: ignore[arg-type]
    right = field_bounds(model, a.input_shape, (unit[0] + 1, unit[1] + 1))  # type: ignore[index]
    for ax in range(2):
        lo, hi = bounds[ax]
        assert hi - lo + 1 == rf.size[ax], ("size", ax)
        assert (lo + hi) / 2 == rf.start[ax] + unit[ax] * rf.jump[ax], ("start", ax)  # type: ignore[index]
        assert (sum(right[ax]) - sum(bounds[ax])) / 2 == rf.jump[ax], ("jump", ax)


@st.composite
def upsampling_layer(draw: Any, shape: tuple[int, int, int]) -> tuple[str, dict[str, Any]]:
    t = draw(st.sampled_from(["ConvTranspose2d", "Upsample", "AdaptiveAvgPool2d"]))
    if t == "ConvTranspose2d":
        s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        return t, {"out_channels": 1, "kernel_size": draw(_pair(1, 5)), "stride": s,
                   "dilation": d, "padding": draw(st.integers(0, 2)),
                   "output_padding": draw(st.integers(0, max(s, d) - 1))}
    if t == "Upsample":
        mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]))
        p: dict[str, Any] = {"mode": mode}
        if draw(st.booleans()):
            p["scale_factor"] = draw(st.sampled_from([1.5, 2, 2.5, 3]))
        else:
            p["size"] = [draw(st.integers(n, 3 * n)) for n in shape[1:]]
        if mode in ("bilinear", "bicubic"):
            p["align_corners"] = draw(st.booleans())
        return t, p
    return t, {"output_size": [draw(st.integers(max(1, n // 3), n)) for n in shape[1:]]}


@settings(max_examples=60, deadline=None)
@given(uniform_stack(), st.data())
def test_upsampling_fields_are_approximated_within_one_step(design: Design, data: Any) -> None:
    """After ConvTranspose2d, Upsample or uneven adaptive pooling the fields vary
    from unit to unit. The analysis gives the largest field size exactly, and
    every unit's true field lies inside its analytic field widened by one input
    step (the jump entering the layer) on each side. (That the largest true field
    equals the analytic size was checked exhaustively for single layers while
    fixing the transposed-conv and bicubic rules.)"""
    before = analyse(design)
    step = before.layers[before.output_id].rf.jump  # type: ignore[index,union-attr]
    t, p = data.draw(upsampling_layer(before.output_shape))  # type: ignore[arg-type]
    design.add_layer(t, p)
    note(str(to_dict(design)["design"]))
    a = analyse(design)
    assume(a.ok)
    info = a.layers[a.output_id]  # type: ignore[index]
    rf = info.rf
    assert rf is not None
    model = PositiveNet(design)
    x = torch.ones(1, *a.input_shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    checked = 0
    for ax, n in enumerate(info.output_shape[1:]):  # type: ignore[index]
        for i in range(0, n, max(1, n // 12)):
            centre = rf.start[ax] + i * rf.jump[ax]
            lo_a, hi_a = centre - (rf.size[ax] - 1) / 2, centre + (rf.size[ax] - 1) / 2
            if lo_a < 0 or hi_a > a.input_shape[1 + ax] - 1:
                continue  # clipped by the border
            x.grad = None
            unit = (i, 0) if ax == 0 else (0, i)
            y[0, :, unit[0], unit[1]].sum().backward(retain_graph=True)
            line = x.grad[0].abs().sum(0).sum(1 - ax)  # type: ignore[union-attr]
            nz = line.nonzero()
            if not len(nz):
                continue  # a transposed conv with stride > kernel leaves gaps
            lo, hi = int(nz.min()), int(nz.max())
            assert lo_a - step[ax] - 1e-9 <= lo and hi <= hi_a + step[ax] + 1e-9, (ax, i)
            assert hi - lo + 1 <= rf.size[ax]
            checked += 1
    assume(checked)


def test_whole_input_fields_after_linear_and_global_pooling() -> None:
    from designer.core.report import rf_dict
    design = Design("whole", InputSpec(2, 9, 7))
    design.add_layer("Conv2d", {"out_channels": 3, "kernel_size": 3})
    design.add_layer("AdaptiveAvgPool2d", {"output_size": 1})
    pooled = analyse(design).layers["adaptiveavgpool2d1"]
    design.add_layer("Flatten")
    design.add_layer("Linear", {"out_features": 2})
    a = analyse(design)
    for info in (pooled, a.layers["fc1"]):
        assert info.rf is not None and info.rf.whole
        assert rf_dict(info.rf, (9, 7)) == {"size": [9, 7], "jump": [9, 7], "start": [4, 3]}
    x = torch.ones(1, 2, 9, 7, dtype=torch.float64, requires_grad=True)
    model = nn.Sequential(positive_module("Conv2d", design.layers[0].params, 2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          positive_module("Linear", {"out_features": 2}, 3))
    model(x)[0, 0].backward()
    assert bool((x.grad != 0).all())  # type: ignore[union-attr]
