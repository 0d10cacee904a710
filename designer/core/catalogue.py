"""The layer catalogue: one LayerType per layer kind.

Every consumer (palette, property editor, analysis, torch builder, code
exporter) reads these definitions. A type's `rule` computes, for resolved
parameters and input shapes, the output shape, parameters, MACs, receptive
field transform and formulas; it raises LayerError for impossible settings.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from designer.core.params import Fix, ParamError, ParamSpec

Shape = tuple[int, ...]

CATEGORIES = ("Convolution", "Pooling", "Linear", "Normalization", "Activation",
              "Regularization", "Reshape", "Merge")

CATEGORY_COLOURS = {
    "Input": "#9aa5b1", "Convolution": "#4c8bf5", "Pooling": "#22a884",
    "Linear": "#8e5cd9", "Normalization": "#f0a030", "Activation": "#e0575b",
    "Regularization": "#7f8c8d", "Reshape": "#2bb3c0", "Merge": "#c2185b",
}


class LayerError(Exception):
    """A setting the layer cannot work with, in words a learner understands."""

    def __init__(self, message: str, fix: Fix | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class RF:
    """Receptive field per spatial axis ((l), (h, w) or (d, h, w)): size r, jump j,
    start s0 (centre of the first unit's field in input-pixel coordinates).
    `whole` marks layers that see the whole input (after Flatten, Linear or
    global pooling)."""
    size: tuple[float, ...]
    jump: tuple[float, ...]
    start: tuple[float, ...]
    whole: bool = False


def input_rf(rank: int) -> RF:
    """The field of the input itself: one pixel (sample, voxel) per unit."""
    return RF((1.0,) * rank, (1.0,) * rank, (0.0,) * rank)


def conv_rf(k_eff: tuple[int, ...], stride: tuple[float, ...],
            pad: tuple[float, ...]) -> Callable[[RF], RF]:
    """Araujo et al. (Distill 2019) update for a conv-like layer."""
    def update(rf: RF) -> RF:
        size = tuple(r + (k - 1) * j for r, k, j in zip(rf.size, k_eff, rf.jump))
        jump = tuple(j * s for j, s in zip(rf.jump, stride))
        start = tuple(s0 + ((k - 1) / 2 - p) * j
                      for s0, k, p, j in zip(rf.start, k_eff, pad, rf.jump))
        return RF(size, jump, start, rf.whole)  # type: ignore[arg-type]
    return update


def whole_rf(rf: RF) -> RF:
    return RF(rf.size, rf.jump, rf.start, True)


@dataclass
class Outcome:
    """What a rule computes for one layer."""
    shape: Shape
    params: list[tuple[str, int, str]] = field(default_factory=list)  # (name, count, formula)
    buffers: int = 0
    macs: int = 0
    rf: Callable[[RF], RF] | None = None   # None: field unchanged
    inferred: dict[str, Any] = field(default_factory=dict)  # input-size constructor args
    formulas: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Layers with several outputs: (port name, shape, extra field update or
    # None) per port, port 0 first; `shape` is then port 0's shape.
    ports: list[tuple[str, Shape, Callable[[RF], RF] | None]] = field(default_factory=list)
    # keyword arguments of the module's forward call (MaxUnpool2d's output_size)
    call_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def param_count(self) -> int:
        return sum(n for _, n, _ in self.params)


@dataclass(frozen=True)
class Source:
    """Where one input comes from: the producing layer's id, type, resolved
    parameters, first input shape, and the port name (for rules such as
    MaxUnpool2d that must check their upstream layer)."""
    id: str
    type_name: str
    params: dict[str, Any]
    input_shape: Shape | None
    port: str


@dataclass
class Ctx:
    """Input of a rule: the type, resolved parameters and input shapes."""
    type_name: str
    p: dict[str, Any]
    shapes: list[Shape]
    sources: list[Source] = field(default_factory=list)

    @property
    def shape(self) -> Shape:
        return self.shapes[0]

    def image(self) -> tuple[int, int, int]:
        """The input as C×H×W, or a LayerError explaining why it is not one."""
        c, sizes = self.spatial(2)
        return (c, *sizes)  # type: ignore[return-value]

    def spatial(self, rank: int) -> tuple[int, tuple[int, ...]]:
        """The input as channels and `rank` spatial sizes, or a LayerError that
        names the layer of the right rank."""
        s = self.shape
        if len(s) != rank + 1:
            raise rank_error(self.type_name, s, rank)
        return s[0], tuple(s[1:])


def rank_error(type_name: str, s: Shape, rank: int) -> "LayerError":
    """The error for a layer of spatial rank `rank` on an input of another rank."""
    want = shape_layout(rank + 1)
    if len(s) < 2:
        return LayerError(f"{type_name} needs a {want} feature map but gets "
                          f"{describe_shape(s)}: place it before Flatten/Linear")
    got = len(s) - 1
    sibling = rank_sibling(type_name, got)
    fix = f"use {sibling}" if sibling else f"{type_name} works on {rank}-D maps only"
    return LayerError(f"{type_name} needs a {want} feature map, but this input is {got}-D "
                      f"({shape_layout(len(s))}: {fmt_shape(s)}): {fix}")


_RANKED = re.compile(r"^(.*)([123])d$")


def type_rank(type_name: str) -> int | None:
    """The spatial rank a type's name states (Conv3d: 3), or None."""
    m = _RANKED.match(type_name)
    return int(m.group(2)) if m else None


def rank_sibling(type_name: str, rank: int) -> str | None:
    """The same kind of layer for another spatial rank (Conv2d, 3 -> Conv3d), if
    the catalogue has it."""
    m = _RANKED.match(type_name)
    if not m:
        return None
    name = f"{m.group(1)}{rank}d"
    return name if is_known(name) else None


Rule = Callable[[Ctx], Outcome]


@dataclass(frozen=True)
class LayerType:
    name: str            # PyTorch class name, or Add / Concat
    category: str
    help: str
    params: tuple[ParamSpec, ...]
    rule: Rule
    min_inputs: int = 1
    max_inputs: int = 1  # 0: unbounded
    torch_module: bool = True  # False for merge types built by the app
    # Output port names for given (raw) parameters; None: one port, "out".
    # Split's count can depend on the input: the analysis has the final list.
    ports: Callable[[dict[str, Any]], tuple[str, ...]] | None = None
    # lengths of the per-sample input shape it takes (3: C×H×W); None: any
    ranks: tuple[int, ...] | None = None

    def fits(self, shape_or_rank: Shape | int) -> bool:
        """Whether this type takes an input of that shape (or tensor rank, batch
        left out: 1 is a flat vector, 2 is C×L, 3 is C×H×W, 4 is C×D×H×W)."""
        n = shape_or_rank if isinstance(shape_or_rank, int) else len(shape_or_rank)
        return self.ranks is None or n in self.ranks

    def port_names(self, params: dict[str, Any]) -> tuple[str, ...]:
        if self.ports is None:
            return ("out",)
        try:
            return self.ports(params) or ("out",)
        except (TypeError, ValueError, KeyError):
            return ("out",)

    @property
    def explanation(self) -> Any:
        """What it computes, when to use it, formula, parameters (core/explanations.py)."""
        from designer.core.explanations import explanation_for
        return explanation_for(self.name)

    def spec(self, name: str) -> ParamSpec | None:
        for s in self.params:
            if s.name == name:
                return s
        return None

    @property
    def visible_params(self) -> tuple[ParamSpec, ...]:
        return tuple(s for s in self.params if not s.inferred)

    def new_params(self) -> dict[str, Any]:
        """Parameters for a freshly added layer: required ones and suggestions."""
        return {s.name: s.new_value() if s.required else s.initial for s in self.params
                if not s.inferred and (s.required or s.initial is not None)}

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Check given params and fill defaults; raise LayerError on bad values."""
        out: dict[str, Any] = {}
        for name in given:
            if self.spec(name) is None:
                raise LayerError(f"{self.name} has no parameter '{name}'",
                                 Fix(f"remove '{name}'", {name: None}))
        for s in self.params:
            if s.name in given:
                try:
                    out[s.name] = s.check(given[s.name])
                except ParamError as e:
                    fix = Fix(f"set {s.name} = {s.new_value()!r}", {s.name: s.new_value()})
                    raise LayerError(str(e), fix) from None
            elif s.required and not s.inferred:
                raise LayerError(f"{self.name} needs a value for {s.name}",
                                 Fix(f"set {s.name} = {s.initial!r}", {s.name: s.initial}))
            else:
                out[s.name] = None if s.required else s.default
        return out


REGISTRY: dict[str, LayerType] = {}


def register(t: LayerType) -> LayerType:
    REGISTRY[t.name] = t
    return t


def get_type(name: str) -> LayerType:
    _load()
    return REGISTRY[name]


def all_types() -> list[LayerType]:
    _load()
    return list(REGISTRY.values())


def is_known(name: str) -> bool:
    _load()
    return name in REGISTRY


def _load() -> None:
    if not REGISTRY:
        from designer.core import (layers_basic, layers_conv, layers_multi,  # noqa: F401
                                   layers_pool)


def fitting_types(shape_or_rank: Shape | int) -> list[LayerType]:
    """The catalogue types that take an input of that shape, or of that many
    dimensions (batch left out: 2 is C×L, 3 is C×H×W, 4 is C×D×H×W), in
    catalogue order. The palette lists these first."""
    return [t for t in all_types() if t.fits(shape_or_rank)]


_LAYOUTS = {1: "N", 2: "C×L", 3: "C×H×W", 4: "C×D×H×W"}


def shape_layout(s: Shape | int) -> str:
    """What the axes of a shape (or of a shape with that many dimensions) are:
    C×L (signal), C×H×W (image), C×D×H×W (volume or clip), N (flat vector)."""
    n = s if isinstance(s, int) else len(s)
    return _LAYOUTS.get(n, "×".join("?" * n))


def shape_text(s: Shape | None) -> str:
    """A shape with its axes named: "3×16×112×112 (C×D×H×W)"; a flat vector as
    "120 (N)"."""
    return "?" if s is None else f"{fmt_shape(s)} ({shape_layout(s)})"


def axis_names(rank: int) -> tuple[str, ...]:
    """The letters of the spatial axes: (L,), (H, W) or (D, H, W)."""
    return tuple(_LAYOUTS.get(rank + 1, "C" + "×?" * rank).split("×")[1:])


def describe_shape(s: Shape | None) -> str:
    if s is None:
        return "unknown"
    if len(s) == 1:
        return f"a flat vector of {s[0]}"
    return "a " + "×".join(str(d) for d in s) + " tensor"


def fmt_shape(s: Shape | None) -> str:
    return "?" if s is None else "×".join(str(d) for d in s)


def prod(xs: Any) -> int:
    return math.prod(xs)


def nearest_divisor(n: int, target: int) -> int:
    """The divisor of n closest to target (ties go to the smaller one). Searches
    outwards from target, so it is quick however large n is (1 always divides)."""
    target = max(1, target)
    for delta in range(target + n):
        for d in (target - delta, target + delta):
            if 1 <= d <= n and n % d == 0:
                return d
    return 1
