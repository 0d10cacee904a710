"""The analysis against PyTorch itself, on random designs (DESIGN.md §5).

Designs are generated with hypothesis and turned into torch modules by a small
builder written here from the design dicts, using torch.nn classes directly and
taking every input size from the real tensors (so the check does not go
through designer.nn.build or the analysis' own inferred sizes).
"""
from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from designer.core import Design, InputSpec, analyse
from designer.io import to_dict
from port_blocks import add_port_block, prelu_params

BATCH = 2
ACTIVATIONS = ("ReLU", "LeakyReLU", "GELU", "SiLU", "ELU", "Sigmoid", "Tanh", "Softmax",
               "ReLU6", "Hardswish", "Hardsigmoid", "Mish", "PReLU")
IMAGE_TYPES = ("Conv2d", "Conv2d", "Conv2d", "ConvTranspose2d", "ConvTranspose2d",
               "MaxPool2d", "MaxPool2d", "Flatten", "Flatten",
               "AvgPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
               "BatchNorm2d", "GroupNorm", "LayerNorm", "Dropout", "Dropout2d",
               "ChannelShuffle", "Upsample", "Identity", "Flatten") + ACTIVATIONS
FLAT_TYPES = ("Linear", "Linear", "Linear", "BatchNorm1d", "BatchNorm1d", "GroupNorm", "LayerNorm", "Dropout",
              "Identity", "Flatten") + ACTIVATIONS


# --- independent torch builder ----------------------------------------------------

def _tuples(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def torch_layer(entry: dict[str, Any], xs: list[torch.Tensor]) -> nn.Module:
    """The torch module for one layer entry of a design file, sized from xs."""
    t = entry["type"]
    if t == "Add":
        return _AddModule()
    if t == "Concat":
        return _ConcatModule()
    if t == "Mul":
        return _MulModule()
    kw = {k: _tuples(v) for k, v in entry.get("params", {}).items()}
    if t == "Split":
        return _SplitModule(entry["params"]["split_size_or_sections"], kw.get("dim", 1))
    x = xs[0]
    if t.startswith("Conv"):  # Conv1d/2d/3d, ConvTranspose1d/2d/3d
        kw.setdefault("in_channels", x.shape[1])
    elif t == "Linear":
        kw.setdefault("in_features", x.shape[-1])
    elif t.startswith(("BatchNorm", "InstanceNorm")):
        kw.setdefault("num_features", x.shape[1])
    elif t == "GroupNorm":
        kw.setdefault("num_channels", x.shape[1])
    elif t == "LayerNorm" and kw.get("normalized_shape") is None:
        kw["normalized_shape"] = tuple(x.shape[1:])
    return getattr(nn, t)(**kw)


class _AddModule(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class _ConcatModule(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class _MulModule(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class _SplitModule(nn.Module):
    def __init__(self, sections: Any, dim: int) -> None:
        super().__init__()
        self.sections, self.dim = sections, dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.split(x, self.sections, dim=self.dim)


_PORT_NAMES = {"out": 0, "indices": 1}  # MaxPool2d(return_indices=True)


def port_value(values: dict[str, Any], ref: str) -> torch.Tensor:
    """The tensor an input reference ("id" or "id:port") names."""
    lid, _, port = ref.partition(":")
    value = values[lid]
    if not isinstance(value, tuple):
        if port not in ("", "0", "out"):
            raise KeyError(f"{lid} has one output, not '{port}'")
        return value
    return value[int(port) if port.isdigit() else _PORT_NAMES[port] if port else 0]


class TorchRun:
    """Builds and runs the layers one by one; records per-layer facts."""

    def __init__(self, design: Design) -> None:
        d = to_dict(design)["design"]
        inp = d["input"]
        self.shape = (inp["channels"], *(inp[k] for k in ("length", "depth", "height", "width")
                                          if k in inp))
        self.layers = d["layers"]
        self.out: dict[str, tuple[int, ...]] = {}
        self.ports: dict[str, list[tuple[int, ...]]] = {}  # every output's shape
        self.in_hw: dict[str, tuple[int, ...]] = {}         # first input's spatial size
        self.params: dict[str, tuple[int, int]] = {}   # id -> (trainable, frozen)
        self.buffers: dict[str, int] = {}
        self.macs: dict[str, float] = {}
        self.failed: str | None = None                 # id of the first layer torch rejects
        self.error: str = ""

    def run(self, count_flops: bool = True) -> "TorchRun":
        values = {"input": torch.rand(BATCH, *self.shape)}
        previous = "input"
        for entry in self.layers:
            lid = entry["id"]
            srcs = entry.get("inputs", [previous])
            previous = lid
            try:
                xs = [port_value(values, s) for s in srcs]
                self.in_hw[lid] = tuple(xs[0].shape[2:])
                module = torch_layer(entry, xs)
                kwargs = {}
                if entry["type"] == "MaxUnpool2d":
                    # back to the size of the pooled layer's input
                    kwargs["output_size"] = self.in_hw[srcs[1].partition(":")[0]]
                if entry.get("frozen"):
                    module.requires_grad_(False)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if count_flops:
                        with FlopCounterMode(display=False) as fc:
                            y = module(*xs, **kwargs)
                        self.macs[lid] = fc.get_total_flops() / 2 / BATCH
                    else:
                        y = module(*xs, **kwargs)
            except Exception as e:  # noqa: BLE001 - any torch refusal counts
                self.failed, self.error = lid, f"{type(e).__name__}: {e}"
                return self
            values[lid] = tuple(y) if isinstance(y, (tuple, list)) else y
            outs = list(values[lid]) if isinstance(values[lid], tuple) else [y]
            self.ports[lid] = [tuple(o.shape[1:]) for o in outs]
            self.out[lid] = self.ports[lid][0]
            trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
            frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
            self.params[lid] = (trainable, frozen)
            self.buffers[lid] = sum(b.numel() for b in module.buffers())
        return self


# --- design generation ------------------------------------------------------------

def _maybe(draw: Any, params: dict[str, Any], name: str, strategy: Any) -> None:
    """Set a parameter half of the time (otherwise PyTorch's default applies)."""
    if draw(st.booleans()):
        params[name] = draw(strategy)


def _pair(lo: int, hi: int) -> Any:
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2, max_size=2))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def layer_params(draw: Any, t: str, shape: tuple[int, ...], wild: bool) -> dict[str, Any]:
    """Parameters for a layer of type t on input `shape`. wild: values that are
    in each parameter's own range but may not fit the input or each other."""
    p: dict[str, Any] = {}
    c = shape[0]
    groups_st = st.integers(1, 4) if wild else st.sampled_from(_divisors(c))
    if t in ("Conv2d", "ConvTranspose2d"):
        g = draw(groups_st)
        if g > 1 or draw(st.booleans()):
            p["groups"] = g
        p["out_channels"] = draw(st.integers(1, 8)) if wild else g * draw(st.integers(1, 3))
        p["kernel_size"] = draw(_pair(1, 5 if wild else 4))
        _maybe(draw, p, "stride", _pair(1, 3))
        _maybe(draw, p, "dilation", _pair(1, 3))
        _maybe(draw, p, "bias", st.booleans())
        if t == "Conv2d":
            _maybe(draw, p, "padding", st.one_of(_pair(0, 3), st.sampled_from(["same", "valid"])))
            _maybe(draw, p, "padding_mode",
                   st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
        else:
            _maybe(draw, p, "padding", _pair(0, 2))
            _maybe(draw, p, "output_padding", _pair(0, 2))
        if wild and draw(st.integers(0, 9)) == 0:
            p["in_channels"] = c + draw(st.sampled_from([0, 1]))
    elif t in ("MaxPool2d", "AvgPool2d"):
        p["kernel_size"] = draw(_pair(1, 4))
        _maybe(draw, p, "stride", st.one_of(st.none(), _pair(1, 3)))
        _maybe(draw, p, "padding", _pair(0, 2))
        _maybe(draw, p, "ceil_mode", st.booleans())
        if t == "MaxPool2d":
            _maybe(draw, p, "dilation", _pair(1, 2))
        else:
            _maybe(draw, p, "count_include_pad", st.booleans())
            _maybe(draw, p, "divisor_override", st.one_of(st.none(), st.integers(1, 5)))
    elif t.startswith("Adaptive"):
        one = st.integers(1, 5)
        p["output_size"] = draw(st.one_of(one, st.lists(st.one_of(st.none(), one),
                                                        min_size=2, max_size=2)))
    elif t == "Linear":
        p["out_features"] = draw(st.integers(1, 12))
        _maybe(draw, p, "bias", st.booleans())
        if wild and draw(st.integers(0, 9)) == 0:
            p["in_features"] = shape[-1] + draw(st.sampled_from([0, 1]))
    elif t == "Flatten":
        _maybe(draw, p, "start_dim", st.integers(1, 3) if wild else st.integers(1, len(shape)))
        _maybe(draw, p, "end_dim", st.integers(-4, 3) if wild else st.sampled_from([-1, len(shape)]))
    elif t in ("BatchNorm1d", "BatchNorm2d"):
        _maybe(draw, p, "eps", st.sampled_from([1e-5, 1e-3]))
        _maybe(draw, p, "momentum", st.sampled_from([None, 0.1, 0.5]))
        _maybe(draw, p, "affine", st.booleans())
        _maybe(draw, p, "track_running_stats", st.booleans())
    elif t == "GroupNorm":
        p["num_groups"] = draw(groups_st)
        _maybe(draw, p, "affine", st.booleans())
        _maybe(draw, p, "eps", st.sampled_from([1e-5, 1e-3]))
    elif t == "LayerNorm":
        k = draw(st.integers(0, len(shape)))
        if k:
            tail = list(shape[len(shape) - k:])
            if wild and draw(st.booleans()):
                tail[0] += 1
            p["normalized_shape"] = tail[0] if k == 1 and draw(st.booleans()) else tail
        _maybe(draw, p, "elementwise_affine", st.booleans())
        _maybe(draw, p, "bias", st.booleans())
    elif t in ("Dropout", "Dropout2d"):
        _maybe(draw, p, "p", st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    elif t == "LeakyReLU":
        _maybe(draw, p, "negative_slope", st.sampled_from([0.0, 0.01, 0.2]))
    elif t == "GELU":
        _maybe(draw, p, "approximate", st.sampled_from(["none", "tanh"]))
    elif t == "ELU":
        _maybe(draw, p, "alpha", st.sampled_from([0.5, 1.0]))
    elif t == "Softmax":
        n = len(shape) + 1
        p["dim"] = draw(st.integers(-4, 3) if wild else
                        st.one_of(st.integers(1, n - 1), st.integers(-n + 1, -1)))
    elif t == "ChannelShuffle":
        p["groups"] = draw(groups_st)
    elif t == "PReLU":
        p.update(prelu_params(draw, c, wild))
    elif t == "Upsample":
        if draw(st.booleans()):
            p["size"] = draw(_pair(1, 9))
        else:
            p["scale_factor"] = draw(st.sampled_from([0.5, 1, 1.5, 2, 3, 2.7]))
        mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]))
        if mode != "nearest" or draw(st.booleans()):
            p["mode"] = mode
        if wild or mode in ("bilinear", "bicubic"):
            _maybe(draw, p, "align_corners", st.booleans())
    return p


def _last_shape(design: Design) -> tuple[int, ...] | None:
    a = analyse(design)
    return a.output_shape if a.output_id else None


class Generator:
    """Grows a design step by step. valid=True undoes every step that the
    analysis rejects, so the result is a valid design; otherwise steps stay."""

    def __init__(self, draw: Any, valid: bool) -> None:
        self.draw, self.valid = draw, valid
        c, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 10)), draw(st.integers(1, 10))
        self.design = Design("random", InputSpec(c, h, w))
        self.shape: tuple[int, ...] = (c, h, w)
        self.tip = "input"

    def _type(self, shape: tuple[int, ...]) -> str:
        choices = IMAGE_TYPES if len(shape) == 3 else FLAT_TYPES
        if not self.valid and self.draw(st.integers(0, 4)) == 0:
            choices = IMAGE_TYPES + FLAT_TYPES
        return self.draw(st.sampled_from(choices))

    def _add(self, tip: str, shape: tuple[int, ...]) -> str:
        t = self._type(shape)
        params = self.draw(layer_params(t, shape, not self.valid))
        frozen = self.draw(st.integers(0, 7)) == 0
        layer = self.design.add_layer(t, params, inputs=[tip], frozen=frozen)
        return layer.id

    def _commit(self, snapshot: Design, tip: str) -> None:
        a = analyse(self.design)
        info = a.layers[tip]
        if self.valid and not a.ok:
            self.design = snapshot
            return
        self.tip = tip
        if info.output_shape is not None:
            self.shape = info.output_shape

    def step(self, branches: bool, ports: bool = False) -> None:
        snapshot = self.design.copy()
        if ports and len(self.shape) in (1, 3) and self.draw(st.integers(0, 1)) == 0:
            tip = add_port_block(self.draw, self.design, self.tip, self.shape, not self.valid)
        elif branches and len(self.shape) in (1, 3) and self.draw(st.integers(0, 2)) == 0:
            tips = []
            for n in range(self.draw(st.integers(2, 3))):
                tip, shape = self.tip, self.shape
                for _ in range(self.draw(st.integers(0 if n else 1, 2))):
                    tip = self._add(tip, shape)
                    out = analyse(self.design).layers[tip].output_shape
                    if out is None:
                        break
                    shape = out
                tips.append(tip)
            if len(set(tips)) < len(tips):
                self.design = snapshot
                return
            merge = self.draw(st.sampled_from(["Add", "Concat"]))
            tip = self.design.add_layer(merge, inputs=tips).id
        else:
            tip = self._add(self.tip, self.shape)
        self._commit(snapshot, tip)


@st.composite
def designs(draw: Any, valid: bool, branches: bool, max_steps: int = 8,
            ports: bool = False) -> Design:
    gen = Generator(draw, valid)
    for _ in range(draw(st.integers(1, max_steps))):
        gen.step(branches, ports)
    if valid and not gen.design.layers:
        gen.design.add_layer("Identity")
    return gen.design


# --- the checks -------------------------------------------------------------------

def check_against_torch(design: Design) -> None:
    a = analyse(design)
    assert a.ok, [(lid, e.message) for lid, e in a.all_errors]
    run = TorchRun(design).run()
    assert run.failed is None, f"torch rejects a design the analysis accepts: {run.failed}: " \
                               f"{run.error}\n{to_dict(design)}"
    for lay in design.layers:
        info = a.layers[lay.id]
        where = f"{lay.id} {lay.type} {lay.params} on {info.input_shapes}"
        assert info.output_shape == run.out[lay.id], where
        assert info.port_shapes == run.ports[lay.id], where
        assert (info.trainable_params, info.frozen_params) == run.params[lay.id], where
        assert info.buffers == run.buffers[lay.id], where
        assert info.macs == run.macs[lay.id], where
    assert a.output_shape == run.out[a.output_id]  # type: ignore[index]
    assert a.total_params == sum(sum(v) for v in run.params.values())


def check_both_ways(design: Design) -> None:
    """Analysis without errors -> torch runs; torch raises -> the analysis
    reports an error on that layer or upstream of it."""
    a = analyse(design)
    run = TorchRun(design).run(count_flops=False)
    if run.failed is not None:
        flagged = {lid for lid, _ in a.all_errors}
        upstream = design.upstream_ids(run.failed) | {run.failed}
        assert flagged & upstream, (f"torch rejects layer {run.failed} ({run.error}) but the "
                                    f"analysis reports no error there or upstream:\n"
                                    f"{to_dict(design)}")
    elif a.ok:
        for lay in design.layers:
            assert a.layers[lay.id].output_shape == run.out[lay.id], lay.id
    if a.ok:
        assert run.failed is None


@settings(max_examples=300)
@given(designs(valid=True, branches=False))
def test_valid_stacks_match_torch(design: Design) -> None:
    check_against_torch(design)


@settings(max_examples=250)
@given(designs(valid=True, branches=True))
def test_valid_branched_designs_match_torch(design: Design) -> None:
    check_against_torch(design)


@settings(max_examples=250)
@given(designs(valid=False, branches=True))
def test_torch_rejections_are_reported(design: Design) -> None:
    check_both_ways(design)


@settings(max_examples=150)
@given(designs(valid=True, branches=True, ports=True))
def test_valid_designs_with_ports_match_torch(design: Design) -> None:
    """Split sections, Mul gates and MaxUnpool2d on pooling indices: every
    port's shape, the parameters and MACs equal torch's."""
    check_against_torch(design)


@settings(max_examples=150)
@given(designs(valid=False, branches=True, ports=True))
def test_torch_rejections_with_ports_are_reported(design: Design) -> None:
    check_both_ways(design)


@settings(max_examples=40)
@given(designs(valid=True, branches=True, ports=True))
def test_app_builder_agrees(design: Design) -> None:
    from designer.nn.build import build
    a = analyse(design)
    model = build(design, a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = model.forward_all(torch.rand(BATCH, *a.input_shape))
    for lay in design.layers:
        assert tuple(outs[model.names[lay.id]].shape[1:]) == a.layers[lay.id].output_shape
    assert sum(p.numel() for p in model.parameters()) == a.total_params


@pytest.mark.parametrize("entry, shape, expected", [
    ({"type": "Conv2d", "params": {"out_channels": 6, "kernel_size": 5, "padding": 2}},
     (1, 28, 28), (6, 28, 28)),
    ({"type": "MaxPool2d", "params": {"kernel_size": 2, "ceil_mode": True}}, (1, 5, 5), (1, 3, 3)),
])
def test_builder_sanity(entry: dict[str, Any], shape: tuple[int, ...],
                        expected: tuple[int, ...]) -> None:
    """The test's own builder gives torch's shapes for hand-checked cases."""
    entry = {"id": "a", **entry}
    y = torch_layer(entry, [torch.rand(1, *shape)])(torch.rand(1, *shape))
    assert tuple(y.shape[1:]) == expected


@pytest.mark.parametrize("shape, pool, unpool, expect_rejected", [
    # found by the property test: dilation 2 steps the 2×2 window over the 1×1
    # input; torch gives -inf and index 1·1 + 1 = 2, and MaxUnpool2d rejects it
    ((1, 1, 1), {"kernel_size": 2, "padding": 1, "dilation": 2}, {"kernel_size": 2,
                                                                  "padding": 1}, True),
    # only the columns are padding; row 0's index 0·1 + 1 = 1 is still outside
    ((1, 1, 1), {"kernel_size": [1, 2], "padding": [0, 1], "dilation": [1, 2]},
     {"kernel_size": [1, 2], "padding": [0, 1]}, True),
    # one row per window on a 3×1 input: index 0·1 + 1 = 1 is a cell, torch accepts it
    ((1, 3, 1), {"kernel_size": 2, "padding": [0, 1], "dilation": [1, 2]},
     {"kernel_size": 2, "padding": [0, 1]}, False),
    # three rows: the last one's index 2·1 + 1 = 3 is past the 3×1 output
    ((1, 3, 1), {"kernel_size": [1, 2], "padding": [0, 1], "dilation": [1, 2]},
     {"kernel_size": [1, 2], "padding": [0, 1]}, True),
])
def test_unpool_of_padding_only_windows(shape: tuple[int, int, int], pool: dict[str, Any],
                                        unpool: dict[str, Any], expect_rejected: bool) -> None:
    d = Design("unpool", InputSpec(*shape))
    p = d.add_layer("MaxPool2d", {**pool, "return_indices": True}).id
    u = d.add_layer("MaxUnpool2d", unpool, inputs=[p, f"{p}:indices"]).id
    check_both_ways(d)
    a = analyse(d)
    rejected = TorchRun(d).run(count_flops=False).failed is not None
    assert rejected == (not a.ok) == expect_rejected
    if rejected:
        assert "only padding" in " ".join(i.message for lid, i in a.all_errors if lid == u)
