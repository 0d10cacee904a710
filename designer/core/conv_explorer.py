"""Window geometry for the convolution explorer: where a layer's kernel (or
pooling window) sits in its input for every output position.

Pure Python. Positions are input coordinates: row 0 is the first real input
row, negative rows and rows >= the input size are padding (or, for pooling
with ceil_mode, the cells past the edge that a last window may run over).
A transposed convolution is described as the equivalent direct convolution
(stride 1, flipped kernel) over the zero-inserted, padded input; its
coordinates are those of the zero-inserted input.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from designer.core.catalogue import all_types
from designer.core.params import pair

EXPLORABLE = ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d")
KINDS = {"Conv2d": "conv", "ConvTranspose2d": "transposed", "MaxPool2d": "max",
         "AvgPool2d": "avg"}
STAND_IN_MIN, STAND_IN_MAX = 5, 16


class ExplorerError(ValueError):
    """A layer the explorer cannot show, in words a learner understands."""


@dataclass(frozen=True)
class Axis:
    """One spatial axis of a sliding window."""
    size: int          # input length (zero-inserted length for transposed)
    kernel: int
    stride: int
    dilation: int
    pad_before: int    # may be negative for transposed (the direct view crops)
    pad_after: int
    out: int

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    def start(self, o: int) -> int:
        return o * self.stride - self.pad_before

    def taps(self, o: int) -> list[int]:
        """Input coordinates of the kernel taps for output index o."""
        first = self.start(o)
        return [first + t * self.dilation for t in range(self.kernel)]

    @property
    def first_drawn(self) -> int:
        """The first coordinate to draw: padding, or 0 when the view crops."""
        return min(0, -self.pad_before)

    @property
    def last_drawn(self) -> int:
        """One past the last coordinate to draw: padding, plus any cells a
        ceil_mode window runs over past the padded edge."""
        end = self.start(self.out - 1) + self.span
        return max(self.size + max(self.pad_after, 0), end)


@dataclass(frozen=True)
class Transposed:
    """A transposed convolution's own settings along one axis (scatter view)."""
    size: int
    kernel: int
    stride: int
    padding: int
    output_padding: int
    dilation: int

    def targets(self, i: int) -> list[int]:
        """Output indices input i writes to (tap t -> i*s - p + t*d); some may
        fall outside the output, where padding crops them."""
        return [i * self.stride - self.padding + t * self.dilation for t in range(self.kernel)]


@dataclass(frozen=True)
class ExplorerSpec:
    kind: str              # conv, transposed, max, avg
    type_name: str
    in_channels: int
    out_channels: int
    groups: int
    rows: Axis
    cols: Axis
    in_size: tuple[int, int]           # the (possibly stand-in) input H, W
    real_size: tuple[int, int]         # the layer's real input H, W
    bias: bool = False
    padding_mode: str = "zeros"
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    transposed: tuple[Transposed, Transposed] | None = None

    @property
    def stand_in(self) -> bool:
        return self.in_size != self.real_size

    @property
    def out_size(self) -> tuple[int, int]:
        return self.rows.out, self.cols.out

    @property
    def is_pool(self) -> bool:
        return self.kind in ("max", "avg")

    def positions(self) -> int:
        return self.rows.out * self.cols.out

    def cell(self, index: int) -> tuple[int, int]:
        """Output cell of animation step `index` (row-major, as the window slides)."""
        return divmod(index % self.positions(), self.cols.out)

    def window(self, oh: int, ow: int) -> list[tuple[int, int, int, int]]:
        """(tap_row, tap_col, row, col) for every kernel tap of output (oh, ow)."""
        rows, cols = self.rows.taps(oh), self.cols.taps(ow)
        return [(th, tw, r, c) for th, r in enumerate(rows) for tw, c in enumerate(cols)]

    def feeding_channels(self, out_channel: int) -> range:
        """Input channels that reach `out_channel` (all of them unless grouped)."""
        if self.is_pool:
            return range(out_channel, out_channel + 1)
        per_in = self.in_channels // self.groups
        group = out_channel // (self.out_channels // self.groups)
        return range(group * per_in, (group + 1) * per_in)

    def inside(self, r: int, c: int) -> bool:
        """Whether (r, c) is a real input cell (for transposed: the zero-inserted grid)."""
        return 0 <= r < self.rows.size and 0 <= c < self.cols.size

    def source(self, r: int, c: int) -> tuple[int, int] | None:
        """The original input cell at (r, c); None for padding and, for a
        transposed convolution, for the inserted zeros."""
        if not self.inside(r, c):
            return None
        if self.transposed is None:
            return r, c
        sh, sw = self.transposed[0].stride, self.transposed[1].stride
        if r % sh or c % sw:
            return None
        return r // sh, c // sw


def explorer_spec(type_name: str, params: dict[str, Any], input_shape: tuple[int, ...],
                  out_channels: int | None = None, stand_in: int | None = None) -> ExplorerSpec:
    """The explorer's description of a layer from its resolved parameters and
    C×H×W input shape. `stand_in` replaces H and W by a small size with the
    same settings. Raises ExplorerError for layers it cannot show."""
    if type_name not in KINDS:
        raise ExplorerError(f"the explorer shows {', '.join(EXPLORABLE)}; "
                            f"this is a {type_name}")
    if len(input_shape) != 3:
        raise ExplorerError("the layer's input is not a C×H×W feature map")
    c, h, w = input_shape
    real = (h, w)
    if stand_in is not None:
        if not STAND_IN_MIN <= stand_in <= STAND_IN_MAX:
            raise ExplorerError(f"a stand-in is {STAND_IN_MIN} to {STAND_IN_MAX} cells wide")
        h = w = stand_in
    kind = KINDS[type_name]
    if kind == "conv":
        spec = _conv(type_name, params, c, (h, w), real)
    elif kind == "transposed":
        spec = _transposed(type_name, params, c, (h, w), real)
    else:
        spec = _pool(type_name, kind, params, c, (h, w), real)
    if min(spec.out_size) < 1:
        k = (spec.rows.span, spec.cols.span)
        where = f"the {h}×{w} stand-in" if stand_in is not None else f"the {h}×{w} input"
        raise ExplorerError(f"the {k[0]}×{k[1]} window does not fit {where}"
                            + (": pick a larger stand-in" if stand_in is not None else ""))
    return spec


def _conv(type_name: str, p: dict[str, Any], c: int, size: tuple[int, int],
          real: tuple[int, int]) -> ExplorerSpec:
    k, s, d = pair(p["kernel_size"]), pair(p.get("stride", 1)), pair(p.get("dilation", 1))
    padding = p.get("padding", 0)
    if padding == "same":
        totals = [di * (ki - 1) for ki, di in zip(k, d)]
        before = [t // 2 for t in totals]
        after = [t - t // 2 for t in totals]
    else:
        before = list((0, 0) if padding == "valid" else pair(padding))
        after = list(before)
    axes = []
    for ax in range(2):
        span = d[ax] * (k[ax] - 1) + 1
        out = (size[ax] + before[ax] + after[ax] - span) // s[ax] + 1
        axes.append(Axis(size[ax], k[ax], s[ax], d[ax], before[ax], after[ax], out))
    return ExplorerSpec("conv", type_name, c, int(p["out_channels"]), int(p.get("groups", 1)),
                        axes[0], axes[1], size, real, bias=bool(p.get("bias", True)),
                        padding_mode=str(p.get("padding_mode", "zeros")))


def _transposed(type_name: str, p: dict[str, Any], c: int, size: tuple[int, int],
                real: tuple[int, int]) -> ExplorerSpec:
    k, s, d = pair(p["kernel_size"]), pair(p.get("stride", 1)), pair(p.get("dilation", 1))
    pad, op = pair(p.get("padding", 0)), pair(p.get("output_padding", 0))
    axes, own = [], []
    for ax in range(2):
        zsize = (size[ax] - 1) * s[ax] + 1
        edge = d[ax] * (k[ax] - 1) - pad[ax]
        out = (size[ax] - 1) * s[ax] - 2 * pad[ax] + d[ax] * (k[ax] - 1) + op[ax] + 1
        axes.append(Axis(zsize, k[ax], 1, d[ax], edge, edge + op[ax], out))
        own.append(Transposed(size[ax], k[ax], s[ax], pad[ax], op[ax], d[ax]))
    return ExplorerSpec("transposed", type_name, c, int(p["out_channels"]),
                        int(p.get("groups", 1)), axes[0], axes[1], size, real,
                        bias=bool(p.get("bias", True)),
                        transposed=(own[0], own[1]))


def _pool(type_name: str, kind: str, p: dict[str, Any], c: int, size: tuple[int, int],
          real: tuple[int, int]) -> ExplorerSpec:
    all_types()   # the whole catalogue first: importing one layers module alone registers only it
    from designer.core.layers_pool import pool_out
    k = pair(p["kernel_size"])
    s = k if p.get("stride") is None else pair(p["stride"])
    pad = pair(p.get("padding", 0))
    d = pair(p.get("dilation", 1)) if kind == "max" else (1, 1)
    ceil = bool(p.get("ceil_mode", False))
    axes = [Axis(size[ax], k[ax], s[ax], d[ax], pad[ax], pad[ax],
                 pool_out(size[ax], k[ax], pad[ax], s[ax], d[ax], ceil)) for ax in range(2)]
    return ExplorerSpec(kind, type_name, c, c, c, axes[0], axes[1], size, real,
                        ceil_mode=ceil,
                        count_include_pad=bool(p.get("count_include_pad", True)),
                        divisor_override=p.get("divisor_override"))


def describe(spec: ExplorerSpec) -> str:
    """One line with the settings the explorer animates."""
    r, c = spec.rows, spec.cols

    def two(a: int, b: int) -> str:
        return str(a) if a == b else f"{a}×{b}"

    if spec.kind == "transposed":
        t = spec.transposed
        assert t is not None
        parts = [f"kernel {two(t[0].kernel, t[1].kernel)}", f"stride {two(t[0].stride, t[1].stride)}",
                 f"padding {two(t[0].padding, t[1].padding)}"]
        if t[0].output_padding or t[1].output_padding:
            parts.append(f"output_padding {two(t[0].output_padding, t[1].output_padding)}")
        if t[0].dilation > 1 or t[1].dilation > 1:
            parts.append(f"dilation {two(t[0].dilation, t[1].dilation)}")
    else:
        parts = [f"kernel {two(r.kernel, c.kernel)}", f"stride {two(r.stride, c.stride)}"]
        if (r.pad_before, c.pad_before) == (r.pad_after, c.pad_after):
            parts.append(f"padding {two(r.pad_before, c.pad_before)}")
        else:
            parts.append(f"padding top {r.pad_before}, bottom {r.pad_after}, "
                         f"left {c.pad_before}, right {c.pad_after}")
        if r.dilation > 1 or c.dilation > 1:
            parts.append(f"dilation {two(r.dilation, c.dilation)}")
        if spec.ceil_mode:
            parts.append("ceil_mode")
        if spec.kind == "avg" and not spec.count_include_pad:
            parts.append("count_include_pad off")
        if spec.groups > 1 and not spec.is_pool:
            parts.append(f"groups {spec.groups}")
    h, w = spec.in_size
    text = (f"{h}×{w} → {r.out}×{c.out}: " + ", ".join(parts))
    if spec.stand_in:
        text += f"  (stand-in for the real {spec.real_size[0]}×{spec.real_size[1]} input)"
    return text
