"""1-D signals and 3-D volumes (issue 15) against PyTorch, on random designs:
shapes, every port, parameters, buffers and MACs (half of FlopCounterMode's
FLOPs) equal torch's, layer by layer (the independent builder and checks of
test_core_torch_equivalence); torch's refusals are reported by the analysis;
the app's builder and the exported code agree. Receptive fields on every axis
are checked against the input gradient in test_core_nd_fields.py.

Spatial sizes are small (3-D is expensive) and example counts modest.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.core import Design, InputSpec, analyse
from test_core_torch_equivalence import (ACTIVATIONS, BATCH, FLAT_TYPES, check_against_torch,
                                         check_both_ways, layer_params)
from test_export_helpers import check_export_matches_build

BN = {1: "BatchNorm1d", 2: "BatchNorm2d", 3: "BatchNorm3d"}
MODES = {1: ("linear",), 2: ("bilinear", "bicubic"), 3: ("trilinear",)}


def nd_types(rank: int) -> tuple[str, ...]:
    n = f"{rank}d"
    if rank == 2:  # the 2-D types new with this issue, among a few old ones
        return ("Conv2d", "Conv2d", "InstanceNorm2d", "InstanceNorm2d", "Upsample",
                "MaxPool2d", "ReLU", "Flatten")
    return ((f"Conv{n}",) * 3 + (f"ConvTranspose{n}",) * 2 + (f"MaxPool{n}",) * 2
            + (f"AvgPool{n}",) * 2 + (f"AdaptiveAvgPool{n}", f"AdaptiveMaxPool{n}", BN[rank],
                                      f"InstanceNorm{n}", f"Dropout{n}", "Dropout",
                                      "GroupNorm", "LayerNorm", "ChannelShuffle", "Upsample",
                                      "Identity", "Flatten") + ACTIVATIONS)


ND_TYPES = sorted({t for r in (1, 2, 3) for t in nd_types(r)})


def _axes(lo: int, hi: int, rank: int) -> Any:
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=rank,
                                                   max_size=rank))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def nd_params(draw: Any, t: str, shape: tuple[int, ...], wild: bool) -> dict[str, Any]:
    """Parameters for type t on `shape` (of any rank); wild: each in its own
    range but maybe not fitting the input or each other."""
    rank = len(shape) - 1
    p: dict[str, Any] = {}
    c = shape[0]

    def maybe(name: str, strategy: Any) -> None:
        if draw(st.booleans()):
            p[name] = draw(strategy)

    base = t[:-2] if t[-2:] in ("1d", "2d", "3d") else t
    if base in ("Conv", "ConvTranspose"):
        g = draw(st.integers(1, 4) if wild else st.sampled_from(_divisors(c)))
        if g > 1 or draw(st.booleans()):
            p["groups"] = g
        p["out_channels"] = draw(st.integers(1, 6)) if wild else g * draw(st.integers(1, 2))
        p["kernel_size"] = draw(_axes(1, 4 if wild else 3, rank))
        maybe("stride", _axes(1, 3, rank))
        maybe("dilation", _axes(1, 2, rank))
        maybe("bias", st.booleans())
        if base == "Conv":
            maybe("padding", st.one_of(_axes(0, 2, rank), st.sampled_from(["same", "valid"])))
            maybe("padding_mode", st.sampled_from(["zeros", "reflect", "replicate",
                                                   "circular"]))
        else:
            maybe("padding", _axes(0, 2, rank))
            maybe("output_padding", _axes(0, 2, rank))
    elif base in ("MaxPool", "AvgPool"):
        p["kernel_size"] = draw(_axes(1, 3, rank))
        maybe("stride", st.one_of(st.none(), _axes(1, 3, rank)))
        maybe("padding", _axes(0, 1, rank))
        maybe("ceil_mode", st.booleans())
        if base == "MaxPool":
            maybe("dilation", _axes(1, 2, rank))
            maybe("return_indices", st.booleans())
        else:
            maybe("count_include_pad", st.booleans())
            if rank > 1:
                maybe("divisor_override", st.one_of(st.none(), st.integers(1, 5)))
    elif base in ("AdaptiveAvgPool", "AdaptiveMaxPool"):
        one = st.integers(1, 4)
        p["output_size"] = draw(st.one_of(one, st.lists(st.one_of(st.none(), one),
                                                        min_size=rank, max_size=rank)))
    elif base in ("BatchNorm", "InstanceNorm"):
        maybe("eps", st.sampled_from([1e-5, 1e-3]))
        maybe("momentum", st.sampled_from([None, 0.1, 0.5]))
        maybe("affine", st.booleans())
        maybe("track_running_stats", st.booleans())
    elif base == "Dropout" and t != "Dropout":
        maybe("p", st.sampled_from([0.0, 0.5, 1.0]))
    elif t == "Upsample":
        if draw(st.booleans()):
            p["size"] = draw(_axes(1, 7, rank))
        else:
            p["scale_factor"] = draw(st.sampled_from([0.5, 1, 1.5, 2, 2.7]))
        modes = ["nearest", "nearest-exact", *MODES.get(rank, ())]   # rank 0: wild
        if wild:
            modes += ["linear", "bilinear", "trilinear"]
        mode = draw(st.sampled_from(modes))
        if mode != "nearest" or draw(st.booleans()):
            p["mode"] = mode
        if wild or mode not in ("nearest", "nearest-exact"):
            maybe("align_corners", st.booleans())
    else:  # rank-free types: the 2-D test's strategy
        p = draw(layer_params(t, shape, wild))
    return p


class NdGenerator:
    """Grows a design of one spatial rank; valid=True undoes steps the analysis
    rejects. Branches end in Add, Concat or Mul; gates are squeeze-excitation
    style (global pooling, 1-wide convolutions, sigmoid, Mul)."""

    def __init__(self, draw: Any, valid: bool, rank: int) -> None:
        self.draw, self.valid, self.rank = draw, valid, rank
        hi = {1: 24, 2: 9, 3: 6}[rank]
        sizes = [draw(st.integers(1, hi)) for _ in range(rank)]
        self.shape: tuple[int, ...] = (draw(st.integers(1, 4)), *sizes)
        self.design = Design("random", InputSpec.from_shape(self.shape))
        self.tip = "input"

    def _type(self, shape: tuple[int, ...]) -> str:
        choices: tuple[str, ...] = FLAT_TYPES
        if len(shape) > 1:
            choices = nd_types(len(shape) - 1)
        if not self.valid and self.draw(st.integers(0, 3)) == 0:
            choices = nd_types(1) + nd_types(3) + ("Conv2d", "MaxPool2d", "Dropout2d")
        return self.draw(st.sampled_from(choices))

    def _add(self, tip: str, shape: tuple[int, ...]) -> str:
        t = self._type(shape)
        params = self.draw(nd_params(t, shape, not self.valid))
        frozen = self.draw(st.integers(0, 7)) == 0
        return self.design.add_layer(t, params, inputs=[tip], frozen=frozen).id

    def _gate(self) -> str:
        n, c = len(self.shape) - 1, self.shape[0]
        d = self.design
        pooled = d.add_layer(f"AdaptiveAvgPool{n}d", {"output_size": 1}, inputs=[self.tip]).id
        squeeze = d.add_layer(f"Conv{n}d", {"out_channels": self.draw(st.integers(1, 3)),
                                            "kernel_size": 1}, inputs=[pooled]).id
        excite = d.add_layer(f"Conv{n}d", {"out_channels": c, "kernel_size": 1},
                             inputs=[d.add_layer("ReLU", inputs=[squeeze]).id]).id
        gate = d.add_layer("Sigmoid", inputs=[excite]).id
        return d.add_layer("Mul", inputs=[self.tip, gate]).id

    def step(self, branches: bool) -> None:
        snapshot = self.design.copy()
        kind = self.draw(st.integers(0, 5)) if branches and len(self.shape) > 1 else 5
        if kind == 0:
            tip = self._gate()
        elif kind in (1, 2):
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
            merge = self.draw(st.sampled_from(["Add", "Concat", "Mul"]))
            tip = self.design.add_layer(merge, inputs=tips).id
        else:
            tip = self._add(self.tip, self.shape)
        a = analyse(self.design)
        if self.valid and not a.ok:
            self.design = snapshot
            return
        self.tip = tip
        if a.layers[tip].output_shape is not None:
            self.shape = a.layers[tip].output_shape  # type: ignore[assignment]


@st.composite
def nd_designs(draw: Any, valid: bool = True, branches: bool = True, max_steps: int = 6,
               ranks: tuple[int, ...] = (1, 2, 3)) -> Design:
    gen = NdGenerator(draw, valid, draw(st.sampled_from(ranks)))
    for _ in range(draw(st.integers(1, max_steps))):
        gen.step(branches)
    if valid and not gen.design.layers:
        gen.design.add_layer("Identity")
    return gen.design


@settings(max_examples=150)
@given(nd_designs(branches=False))
def test_nd_stacks_match_torch(design: Design) -> None:
    check_against_torch(design)


@settings(max_examples=100)
@given(nd_designs(branches=True))
def test_nd_branched_designs_match_torch(design: Design) -> None:
    check_against_torch(design)


@settings(max_examples=150)
@given(nd_designs(valid=False))
def test_nd_torch_rejections_are_reported(design: Design) -> None:
    check_both_ways(design)


@settings(max_examples=30)
@given(nd_designs())
def test_nd_app_builder_agrees(design: Design) -> None:
    from designer.nn.build import build
    a = analyse(design)
    model = build(design, a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = model.forward_all(torch.rand(BATCH, *a.input_shape))
    for lay in design.layers:
        assert tuple(outs[model.names[lay.id]].shape[1:]) == a.layers[lay.id].output_shape
    assert sum(p.numel() for p in model.parameters()) == a.total_params


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exported_nd")


@settings(max_examples=40)
@given(design=nd_designs())
def test_nd_exported_code_gives_identical_outputs(design: Design, code_dir: Path) -> None:
    check_export_matches_build(design, code_dir)


def test_every_new_type_is_drawn() -> None:
    from designer.core.catalogue import all_types
    new = {t.name for t in all_types() if t.name[-2:] in ("1d", "3d")
           or t.name.startswith("InstanceNorm")} - {"BatchNorm1d"}
    assert new - set(ND_TYPES) == set()


def every_type_design(rank: int) -> Design:
    """One design of that rank using every type of the rank with non-default options."""
    n = f"{rank}d"
    sizes = {1: (20,), 2: (8, 6), 3: (6, 8, 6)}[rank]
    d = Design(f"all {n}", InputSpec.from_shape((4, *sizes)))
    per_axis = [2, 1, 2][:rank]
    layers: list[tuple[str, dict[str, Any]]] = [
        (f"Conv{n}", {"out_channels": 4, "kernel_size": 3, "padding": "same",
                      "padding_mode": "reflect", "groups": 2}),
        (f"InstanceNorm{n}", {"affine": True, "track_running_stats": True}),
        (f"ConvTranspose{n}", {"out_channels": 4, "kernel_size": 2, "stride": 2,
                               "output_padding": [1, 0, 1][:rank] if rank > 1 else 1,
                               "dilation": 2, "bias": False}),
        (f"MaxPool{n}", {"kernel_size": 2, "ceil_mode": True, "dilation": 1}),
        (f"AvgPool{n}", {"kernel_size": per_axis if rank > 1 else 2,
                         "count_include_pad": False, "padding": [1, 0, 1][:rank]}),
        ("Upsample", {"scale_factor": 1.5, "mode": MODES[rank][0], "align_corners": True}),
        (f"Conv{n}", {"out_channels": 4, "kernel_size": 3, "dilation": 2, "padding": 2,
                      "padding_mode": "circular"}),
    ]
    if rank != 2:
        layers += [(BN[rank], {"momentum": None}), (f"Dropout{n}", {"p": 0.2}),
                   (f"AdaptiveMaxPool{n}", {"output_size": 3}),
                   (f"AdaptiveAvgPool{n}", {"output_size": 2})]
    layers += [("ChannelShuffle", {"groups": 2}), ("Flatten", {}),
               ("Linear", {"out_features": 5})]
    for t, p in layers:
        d.add_layer(t, p)
    return d


@pytest.mark.parametrize("size", [[], [4, 4]])
def test_an_upsample_size_with_the_wrong_count_gets_a_fix_not_a_traceback(size: list) -> None:
    d = Design("volume", InputSpec.from_shape((2, 3, 4, 5)))
    d.add_layer("Upsample", {"size": size}, layer_id="up")
    a = analyse(d)
    err = a.layers["up"].errors[0]
    assert f"size has {len(size)} values" in err.message
    fixed = err.fix.params["size"]
    assert fixed == ([6, 8, 10] if not size else 4)
    d.set_params("up", {"size": fixed})
    assert analyse(d).ok


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_every_new_type_exports_and_matches_torch(rank: int, tmp_path: Path) -> None:
    d = every_type_design(rank)
    assert analyse(d).ok, analyse(d).all_errors
    check_against_torch(d)
    check_export_matches_build(d, tmp_path)
