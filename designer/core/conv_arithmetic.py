"""The arithmetic of one output cell, with real numbers, as the explorer shows it.

numpy only (no torch): the input is a C×H×W array (the layer's real input, a
stand-in crop of it, or small integers), the weights are in PyTorch's layout.
Tests check every result against the built torch module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from designer.core.conv_explorer import ExplorerSpec

_NP_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
           "circular": "wrap"}


@dataclass
class Product:
    tap: tuple[int, int]      # (row, col) in the kernel
    pos: tuple[int, int]      # input coordinates (zero-inserted ones for transposed)
    x: float
    w: float
    where: str = "input"      # input, padding, inserted (a transposed conv's zero)


@dataclass
class ChannelPart:
    channel: int
    products: list[Product]

    @property
    def partial(self) -> float:
        return float(sum(p.x * p.w for p in self.products))


@dataclass
class CellMath:
    kind: str
    out_channel: int
    cell: tuple[int, int]
    channels: list[ChannelPart] = field(default_factory=list)
    bias: float | None = None
    total: float = 0.0
    # pooling
    window: list[tuple[tuple[int, int], float | None]] = field(default_factory=list)
    index: int | None = None       # MaxPool2d(return_indices=True): row·W + col
    divisor: int | None = None     # AvgPool2d

    @property
    def feeding(self) -> list[int]:
        return [part.channel for part in self.channels]


def compute_cell(spec: ExplorerSpec, x: np.ndarray, weight: np.ndarray | None,
                 bias: np.ndarray | None, out_channel: int, cell: tuple[int, int]) -> CellMath:
    """The products, partial sums, bias and total of output (out_channel, *cell);
    for pooling the window's values and the max (with its index) or the average."""
    x = np.asarray(x, dtype=np.float64)
    if spec.kind == "max":
        return _max(spec, x, out_channel, cell)
    if spec.kind == "avg":
        return _avg(spec, x, out_channel, cell)
    assert weight is not None
    w = np.asarray(weight, dtype=np.float64)
    if spec.kind == "transposed":
        math_ = _transposed(spec, x, w, out_channel, cell)
    else:
        math_ = _conv(spec, x, w, out_channel, cell)
    math_.bias = None if bias is None else float(bias[out_channel])
    math_.total = sum(part.partial for part in math_.channels) + (math_.bias or 0.0)
    return math_


def _conv(spec: ExplorerSpec, x: np.ndarray, w: np.ndarray, oc: int,
          cell: tuple[int, int]) -> CellMath:
    r, c = spec.rows, spec.cols
    padded = np.pad(x, ((0, 0), (r.pad_before, r.pad_after), (c.pad_before, c.pad_after)),
                    mode=_NP_PAD.get(spec.padding_mode, "constant"))  # type: ignore[call-overload]
    out = CellMath(spec.kind, oc, cell)
    first = spec.feeding_channels(oc).start
    window = spec.window(*cell)
    for ci in spec.feeding_channels(oc):
        products = [Product((th, tw), (row, col),
                            float(padded[ci, row + r.pad_before, col + c.pad_before]),
                            float(w[oc, ci - first, th, tw]),
                            "input" if spec.inside(row, col) else "padding")
                    for th, tw, row, col in window]
        out.channels.append(ChannelPart(ci, products))
    return out


def _transposed(spec: ExplorerSpec, x: np.ndarray, w: np.ndarray, oc: int,
                cell: tuple[int, int]) -> CellMath:
    """Direct convolution over the zero-inserted, padded input with the kernel
    flipped; weight is C_in × C_out/groups × kh × kw."""
    per_out = spec.out_channels // spec.groups
    local = oc % per_out
    kh, kw = spec.rows.kernel, spec.cols.kernel
    out = CellMath(spec.kind, oc, cell)
    window = spec.window(*cell)
    for ci in spec.feeding_channels(oc):
        products = []
        for th, tw, row, col in window:
            src = spec.source(row, col)
            where = "input" if src is not None else (
                "inserted" if spec.inside(row, col) else "padding")
            value = 0.0 if src is None else float(x[ci, src[0], src[1]])
            products.append(Product((kh - 1 - th, kw - 1 - tw), (row, col), value,
                                    float(w[ci, local, kh - 1 - th, kw - 1 - tw]), where))
        out.channels.append(ChannelPart(ci, products))
    return out


def _pool_window(spec: ExplorerSpec, x: np.ndarray, ch: int,
                 cell: tuple[int, int]) -> list[tuple[tuple[int, int], float | None]]:
    return [((row, col), float(x[ch, row, col]) if spec.inside(row, col) else None)
            for _th, _tw, row, col in spec.window(*cell)]


def _max(spec: ExplorerSpec, x: np.ndarray, ch: int, cell: tuple[int, int]) -> CellMath:
    out = CellMath("max", ch, cell, window=_pool_window(spec, x, ch, cell))
    best: float | None = None
    for (row, col), value in out.window:   # row-major scan; the first maximum wins, as in torch
        if value is not None and (best is None or value > best or math.isnan(value)):
            best, out.index = value, row * spec.cols.size + col
    if best is None:
        out.index = _empty_window_index(spec, cell)
    out.total = float("-inf") if best is None else best
    return out


def _empty_window_index(spec: ExplorerSpec, cell: tuple[int, int]) -> int:
    """The index torch's max_pool2d returns for a window that covers only
    padding: its kernel starts from the window's first row and column at or past
    0 (stepping by the dilation, even beyond the window's taps) and keeps that
    position when no value beats −∞. It may lie outside the input."""
    def first(start: int, dilation: int) -> int:
        return start if start >= 0 else start + (-start + dilation - 1) // dilation * dilation
    row = first(spec.rows.start(cell[0]), spec.rows.dilation)
    col = first(spec.cols.start(cell[1]), spec.cols.dilation)
    return row * spec.cols.size + col


def _avg(spec: ExplorerSpec, x: np.ndarray, ch: int, cell: tuple[int, int]) -> CellMath:
    out = CellMath("avg", ch, cell, window=_pool_window(spec, x, ch, cell))
    out.divisor = avg_divisor(spec, cell)
    inside = [v for _, v in out.window if v is not None]
    out.total = float(sum(inside)) / out.divisor
    return out


def avg_divisor(spec: ExplorerSpec, cell: tuple[int, int]) -> int:
    """AvgPool2d's divisor: the window clipped to the padded input (padding
    counted) or to the input itself (count_include_pad off); a ceil_mode
    window that runs past the padded edge counts only what it covers."""
    if spec.divisor_override:
        return int(spec.divisor_override)
    n = 1
    for axis, o in zip((spec.rows, spec.cols), cell):
        start = axis.start(o)
        end = min(start + axis.kernel, axis.size + axis.pad_after)
        if not spec.count_include_pad:
            start, end = max(start, 0), min(end, axis.size)
        n *= end - start
    return n


# --- the activation after the layer -------------------------------------------------

def _gelu(v: float, p: dict[str, Any]) -> float:
    if p.get("approximate", "none") == "tanh":
        return 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
    return 0.5 * v * (1 + math.erf(v / math.sqrt(2)))


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _softplus(v: float) -> float:
    return v if v > 20 else math.log1p(math.exp(v))


ACTIVATIONS = {
    "ReLU": lambda v, p: max(v, 0.0),
    "ReLU6": lambda v, p: min(max(v, 0.0), 6.0),
    "LeakyReLU": lambda v, p: v if v >= 0 else v * p.get("negative_slope", 0.01),
    "ELU": lambda v, p: v if v > 0 else p.get("alpha", 1.0) * math.expm1(v),
    "GELU": _gelu,
    "SiLU": lambda v, p: v * _sigmoid(v),
    "Sigmoid": lambda v, p: _sigmoid(v),
    "Tanh": lambda v, p: math.tanh(v),
    "Hardswish": lambda v, p: v * min(max(v + 3, 0.0), 6.0) / 6,
    "Hardsigmoid": lambda v, p: min(max(v + 3, 0.0), 6.0) / 6,
    "Mish": lambda v, p: v * math.tanh(_softplus(v)),
    "PReLU": lambda v, p: v if v >= 0 else v * p.get("init", 0.25),
}


def activate(type_name: str, params: dict[str, Any], value: float) -> float | None:
    """The elementwise activation's value, or None when it is not one the
    explorer knows (Softmax mixes channels)."""
    f = ACTIVATIONS.get(type_name)
    return None if f is None else float(f(value, params))


def fmt(v: float | None) -> str:
    """A short number for cells and sums: integers stay integers."""
    if v is None:
        return "·"
    if math.isinf(v):
        return "−∞" if v < 0 else "∞"
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    text = f"{v:.3g}" if abs(v) >= 0.01 or v == 0 else f"{v:.1e}"
    return text.replace("-", "−")


def small_integers(spec: ExplorerSpec, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None,
                                                                np.ndarray | None]:
    """Values like the tutorials': inputs 0..3 (pooling 0..9), kernel taps
    −1..1, bias 1; in the layout the real layer uses."""
    rng = np.random.default_rng(seed)
    h, w = spec.in_size
    if spec.is_pool:
        return rng.integers(0, 10, (spec.in_channels, h, w)).astype(np.float64), None, None
    kh, kw = spec.rows.kernel, spec.cols.kernel
    if spec.kind == "transposed":
        shape = (spec.in_channels, spec.out_channels // spec.groups, kh, kw)
    else:
        shape = (spec.out_channels, spec.in_channels // spec.groups, kh, kw)
    x = rng.integers(0, 4, (spec.in_channels, h, w)).astype(np.float64)
    weight = rng.integers(-1, 2, shape).astype(np.float64)
    bias = np.ones(spec.out_channels) if spec.bias else None
    return x, weight, bias


def output_map(spec: ExplorerSpec, x: np.ndarray, weight: np.ndarray | None,
               bias: np.ndarray | None, out_channel: int) -> np.ndarray:
    """Every output cell of one channel at once (vectorised compute_cell totals)."""
    r, c = spec.rows, spec.cols
    rows = np.array([r.taps(o) for o in range(r.out)]) - r.first_drawn      # out_h × k_h
    cols = np.array([c.taps(o) for o in range(c.out)]) - c.first_drawn      # out_w × k_w
    shape = (r.last_drawn - r.first_drawn, c.last_drawn - c.first_drawn)
    x = np.asarray(x, dtype=np.float64)
    if spec.kind == "conv":
        ch = spec.feeding_channels(out_channel)
        padded = np.pad(x[ch.start:ch.stop],
                        ((0, 0), (r.pad_before, r.pad_after), (c.pad_before, c.pad_after)),
                        mode=_NP_PAD.get(spec.padding_mode, "constant"))  # type: ignore[call-overload]
        win = padded[:, rows[:, :, None, None], cols[None, None, :, :]]
        out = np.einsum("cakbl,ckl->ab", win, np.asarray(weight)[out_channel])
    elif spec.kind == "transposed":
        ch = spec.feeding_channels(out_channel)
        th, tw = spec.transposed  # type: ignore[misc]
        grid = np.zeros((len(ch),) + shape)
        grid[:, -r.first_drawn:-r.first_drawn + r.size:th.stride,
             -c.first_drawn:-c.first_drawn + c.size:tw.stride] = x[ch.start:ch.stop]
        win = grid[:, rows[:, :, None, None], cols[None, None, :, :]]
        local = out_channel % (spec.out_channels // spec.groups)
        w = np.asarray(weight)[ch.start:ch.stop, local, ::-1, ::-1]
        out = np.einsum("cakbl,ckl->ab", win, w)
    else:
        fill = -np.inf if spec.kind == "max" else 0.0
        grid = np.full(shape, fill)
        grid[-r.first_drawn:-r.first_drawn + r.size,
             -c.first_drawn:-c.first_drawn + c.size] = x[out_channel]
        win = grid[rows[:, :, None, None], cols[None, None, :, :]]
        if spec.kind == "max":
            return win.max(axis=(1, 3))
        divisors = np.array([[avg_divisor(spec, (i, j)) for j in range(c.out)]
                             for i in range(r.out)], dtype=np.float64)
        return win.sum(axis=(1, 3)) / divisors
    return out + (0.0 if bias is None else float(bias[out_channel]))
