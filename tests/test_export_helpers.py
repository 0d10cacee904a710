"""Helpers for the export tests: random valid designs (hypothesis), importing
generated code from a file, and comparing an exported module with the built
one. The tests at the bottom check the helpers themselves."""
from __future__ import annotations

import importlib.util
import itertools
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.core import Design, InputSpec, analyse
from designer.core.catalogue import all_types
from designer.export.pytorch_code import generate_model_code, model_class_name
from designer.nn.build import build
from port_blocks import NEW_ACTIVATIONS, PORT_TYPES, add_port_block, prelu_params

ACTIVATIONS = ("ReLU", "LeakyReLU", "GELU", "SiLU", "ELU", "Sigmoid", "Tanh",
               "Softmax") + NEW_ACTIVATIONS
IMAGE_TYPES = ("Conv2d", "Conv2d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
               "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm2d", "GroupNorm",
               "LayerNorm", "Dropout", "Dropout2d", "ChannelShuffle", "Upsample", "Identity",
               "Flatten", "Flatten", "Flatten") + ACTIVATIONS
FLAT_TYPES = ("Linear", "Linear", "BatchNorm1d", "LayerNorm", "Dropout", "Identity",
              "GroupNorm") + ACTIVATIONS
_counter = itertools.count()


# --- random valid designs ---------------------------------------------------------

def _pair(lo: int, hi: int) -> Any:
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2,
                                                   max_size=2))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def layer_params(draw: Any, t: str, shape: tuple[int, ...]) -> dict[str, Any]:
    """Parameters for type t on `shape`: usually valid; invalid ones are dropped."""
    c = shape[0]
    p: dict[str, Any] = {}

    def maybe(name: str, strategy: Any) -> None:
        if draw(st.booleans()):
            p[name] = draw(strategy)

    if t in ("Conv2d", "ConvTranspose2d"):
        g = draw(st.sampled_from(_divisors(c)))
        if g > 1:
            p["groups"] = g
        p["out_channels"] = g * draw(st.integers(1, 3))
        p["kernel_size"] = draw(_pair(1, 3))
        maybe("stride", _pair(1, 2))
        maybe("dilation", _pair(1, 2))
        maybe("bias", st.booleans())
        if t == "Conv2d":
            maybe("padding", st.one_of(_pair(0, 2), st.sampled_from(["same", "valid"])))
            maybe("padding_mode", st.sampled_from(["zeros", "reflect", "replicate",
                                                   "circular"]))
        else:
            maybe("padding", _pair(0, 1))
            maybe("output_padding", _pair(0, 1))
    elif t in ("MaxPool2d", "AvgPool2d"):
        p["kernel_size"] = draw(_pair(1, 3))
        maybe("stride", _pair(1, 2))
        maybe("padding", _pair(0, 1))
        maybe("ceil_mode", st.booleans())
        if t == "AvgPool2d":
            maybe("count_include_pad", st.booleans())
            maybe("divisor_override", st.integers(1, 4))
    elif t.startswith("Adaptive"):
        one = st.integers(1, 4)
        p["output_size"] = draw(st.one_of(one, st.lists(st.one_of(st.none(), one),
                                                        min_size=2, max_size=2)))
    elif t == "Linear":
        p["out_features"] = draw(st.integers(1, 12))
        maybe("bias", st.booleans())
    elif t == "Flatten":
        maybe("start_dim", st.integers(1, len(shape)))
    elif t in ("BatchNorm1d", "BatchNorm2d"):
        maybe("eps", st.sampled_from([1e-5, 1e-3]))
        maybe("momentum", st.sampled_from([None, 0.1, 0.5]))
        maybe("affine", st.booleans())
        maybe("track_running_stats", st.booleans())
    elif t == "GroupNorm":
        p["num_groups"] = draw(st.sampled_from(_divisors(c)))
        maybe("affine", st.booleans())
    elif t == "LayerNorm":
        k = draw(st.integers(0, len(shape)))
        if k:
            p["normalized_shape"] = list(shape[len(shape) - k:])
        maybe("elementwise_affine", st.booleans())
        maybe("bias", st.booleans())
    elif t in ("Dropout", "Dropout2d"):
        maybe("p", st.sampled_from([0.0, 0.1, 0.5]))
    elif t == "LeakyReLU":
        maybe("negative_slope", st.sampled_from([0.0, 0.2]))
    elif t == "GELU":
        maybe("approximate", st.sampled_from(["none", "tanh"]))
    elif t == "ELU":
        maybe("alpha", st.sampled_from([0.5, 1.0, 2.0]))
    elif t == "Softmax":
        p["dim"] = draw(st.integers(1, len(shape)))
    elif t == "ChannelShuffle":
        p["groups"] = draw(st.sampled_from(_divisors(c)))
    elif t == "PReLU":
        p.update(prelu_params(draw, c))
    elif t == "Upsample":
        if draw(st.booleans()):
            p["size"] = draw(_pair(1, 8))
        else:
            p["scale_factor"] = draw(st.sampled_from([0.5, 1.5, 2.0]))
        mode = draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))
        if mode != "nearest":
            p["mode"] = mode
            maybe("align_corners", st.booleans())
    return p


class _Grower:
    """Adds layers (or branches merged by Add/Concat) and keeps only steps
    after which the design is still valid."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        c, h, w = draw(st.integers(1, 4)), draw(st.integers(3, 10)), draw(st.integers(3, 10))
        self.design = Design("random", InputSpec(c, h, w))
        self.tip, self.shape = "input", (c, h, w)

    def _add(self, tip: str, shape: tuple[int, ...]) -> tuple[str, tuple[int, ...] | None]:
        t = self.draw(st.sampled_from(IMAGE_TYPES if len(shape) == 3 else FLAT_TYPES))
        params = self.draw(layer_params(t, shape))
        frozen = self.draw(st.integers(0, 9)) == 0
        lid = self.design.add_layer(t, params, inputs=[tip], frozen=frozen).id
        return lid, analyse(self.design).layers[lid].output_shape

    def step(self, branches: bool) -> None:
        snapshot = self.design.copy()
        if branches and len(self.shape) in (1, 3) and self.draw(st.integers(0, 3)) == 0:
            tip = add_port_block(self.draw, self.design, self.tip, self.shape)
        elif branches and self.draw(st.integers(0, 2)) == 0:
            tips = []
            for n in range(self.draw(st.integers(2, 3))):
                tip, shape = self.tip, self.shape
                for _ in range(self.draw(st.integers(0 if n else 1, 2))):
                    tip, out = self._add(tip, shape)
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
            tip, _ = self._add(self.tip, self.shape)
        analysis = analyse(self.design)
        if not analysis.ok:
            self.design = snapshot
            return
        self.tip, self.shape = tip, analysis.layers[tip].output_shape  # type: ignore[assignment]


@st.composite
def valid_designs(draw: Any, branches: bool = True, max_steps: int = 7) -> Design:
    grower = _Grower(draw)
    for _ in range(draw(st.integers(1, max_steps))):
        grower.step(branches)
    if not grower.design.layers:
        grower.design.add_layer("Identity")
    return grower.design


# --- generated code as a module ---------------------------------------------------

def import_code(directory: Path, code: str, stem: str | None = None) -> ModuleType:
    """Write code to directory/<stem>.py and import it under a unique name."""
    stem = stem or f"exported_{next(_counter)}"
    path = Path(directory) / f"{stem}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(stem, None)
    return module


def torch_layers(module: torch.nn.Module) -> list[tuple[str, str]]:
    """(class, constructor arguments as torch prints them) of each torch.nn layer."""
    return [(type(m).__name__, m.extra_repr()) for m in module.modules()
            if type(m).__module__.startswith("torch.nn.") and not list(m.children())]


def check_export_matches_build(design: Design, directory: Path) -> None:
    """The exported class has the built module's state_dict (keys, shapes, order),
    parameter count and frozen flags, and computes the same outputs."""
    analysis = analyse(design)
    code = generate_model_code(design, analysis)
    compile(code, "model.py", "exec")
    assert all(len(line) <= 79 for line in code.splitlines()), code
    module = import_code(directory, code)
    exported = getattr(module, model_class_name(design))()
    built = build(design, analysis)
    sd_built, sd_exported = built.state_dict(), exported.state_dict()
    assert list(sd_exported) == list(sd_built)
    for key in sd_built:
        assert sd_exported[key].shape == sd_built[key].shape, key
    params_built = dict(built.named_parameters())
    params_exported = dict(exported.named_parameters())
    assert {k: p.requires_grad for k, p in params_exported.items()} == \
        {k: p.requires_grad for k, p in params_built.items()}
    assert sum(p.numel() for p in exported.parameters()) == analysis.total_params
    assert tuple(module.INPUT_SHAPE) == analysis.input_shape
    # constructor arguments that eval-mode outputs do not show (BatchNorm's
    # momentum, Dropout's p): every torch layer is configured alike
    assert torch_layers(exported) == torch_layers(built)
    with torch.no_grad():
        for p in built.parameters():   # non-trivial weights, e.g. BatchNorm's
            p.add_(torch.rand_like(p) * 0.1)
    exported.load_state_dict(sd_built)
    built.eval()
    exported.eval()
    x = torch.randn(3, *analysis.input_shape)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.testing.assert_close(exported(x), built(x), rtol=0, atol=0)


# --- the helpers' own checks ------------------------------------------------------

@settings(max_examples=40)
@given(valid_designs())
def test_random_designs_are_valid(design: Design) -> None:
    assert analyse(design).ok


def test_strategy_covers_the_catalogue() -> None:
    """Every layer type of the catalogue can be drawn."""
    from test_core_nd import ND_TYPES  # 1-D and 3-D types (issue 15)
    drawn = (set(IMAGE_TYPES) | set(FLAT_TYPES) | {"Add", "Concat"} | set(PORT_TYPES)
             | set(ND_TYPES))
    assert {t.name for t in all_types()} - drawn == set()
