"""The receptive field of one unit of a 1-D or 3-D layer, per axis, from the
analysis alone (no Qt, no torch): the span on a signal, or the depth range of
a volume plus the box on its height x width slices (drawn like a 2-D field)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from designer.core.analysis import Analysis
from designer.core.catalogue import RF, axis_names
from designer.gui.rf.overlay_model import Overlay, _clip, _padding_parts, fmt_num


@dataclass(frozen=True)
class AxisSpan:
    lo: float                      # first / last pixel centre of the field (inclusive)
    hi: float
    centre: float
    size: int                      # the input's size on this axis

    @property
    def clipped(self) -> tuple[float, float] | None:
        lo, hi = max(self.lo, 0.0), min(self.hi, self.size - 1.0)
        return (lo, hi) if lo <= hi else None

    def contains(self, index: int) -> bool:
        c = self.clipped
        return c is not None and c[0] <= index <= c[1]


@dataclass(frozen=True)
class FieldND:
    layer_id: str
    unit: tuple[int, ...]          # index in the layer's output map (spatial axes)
    rf: RF
    spans: tuple[AxisSpan, ...]    # one per spatial axis (L) or (D, H, W)

    @property
    def whole(self) -> bool:
        return self.rf.whole

    def slice_overlay(self) -> Overlay:
        """The field on one height x width slice of a volume (3-D only)."""
        _, h, w = self.spans
        rf = RF(self.rf.size[1:], self.rf.jump[1:], self.rf.start[1:], self.rf.whole)
        box = (h.lo, w.lo, h.hi, w.hi)
        clipped = _clip(box, h.size, w.size)
        return Overlay(self.layer_id, (self.unit[1], self.unit[2]) if self.unit else (0, 0),
                       (h.size, w.size), rf, box, clipped, _padding_parts(box, clipped),
                       (h.centre, w.centre), [])


def map_size(analysis: Analysis, layer_id: str | None) -> tuple[int, ...] | None:
    """The spatial size of a layer's output map when its field is local."""
    info = analysis.layers.get(layer_id or "")
    rank = len(analysis.input_shape) - 1
    if info is None or info.rf is None or info.rf.whole or info.output_shape is None \
            or len(info.output_shape) != rank + 1:
        return None
    return tuple(info.output_shape[1:])


def field(analysis: Analysis, layer_id: str, unit: tuple[int, ...]) -> FieldND | None:
    info = analysis.layers.get(layer_id)
    if info is None or info.rf is None:
        return None
    rf = info.rf
    sizes = tuple(int(v) for v in analysis.input_shape[1:])
    if rf.whole:
        spans = tuple(AxisSpan(0.0, n - 1.0, (n - 1) / 2, n) for n in sizes)
        return FieldND(layer_id, tuple(0 for _ in sizes), rf, spans)
    out = map_size(analysis, layer_id) or tuple(1 for _ in sizes)
    unit = tuple(min(max(int(u), 0), n - 1) for u, n in zip(unit, out))
    spans = []
    for a, n in enumerate(sizes):
        centre = rf.start[a] + unit[a] * rf.jump[a]
        half = (rf.size[a] - 1) / 2
        spans.append(AxisSpan(centre - half, centre + half, centre, n))
    return FieldND(layer_id, unit, rf, tuple(spans))


def field_label(f: FieldND) -> str:
    """'RF 3×7×7 (D×H×W), jump 1, 2, 2' — sizes per axis."""
    if f.whole:
        return "sees the whole input"
    names = "×".join(axis_names(len(f.spans)))
    size = "×".join(fmt_num(v) for v in f.rf.size)
    jump = ", ".join(fmt_num(v) for v in f.rf.jump)
    start = ", ".join(fmt_num(v) for v in f.rf.start)
    return f"RF {size} ({names}), jump {jump}, start {start}"


def span_text(span: AxisSpan, axis: str) -> str:
    c = span.clipped
    inside = "none inside" if c is None else f"{fmt_num(c[0])}…{fmt_num(c[1])}"
    return f"{axis} {fmt_num(span.lo)}…{fmt_num(span.hi)} (inside: {inside})"


def demo_volume(channels: int, depth: int, height: int, width: int) -> np.ndarray:
    """uint8 C×D×H×W: a bright disc moving across a dim frame, slice by slice
    (what to draw the field on when no data is loaded)."""
    t = np.linspace(0, 1, max(depth, 1))[:, None, None]
    ys = np.arange(height)[None, :, None]
    xs = np.arange(width)[None, None, :]
    cy, cx = height * (0.3 + 0.4 * t), width * (0.25 + 0.5 * t)
    r = max(1.5, 0.18 * min(height, width))
    disc = ((ys - cy) ** 2 + (xs - cx) ** 2) <= r ** 2
    grid = ((ys // max(1, height // 8) + xs // max(1, width // 8)) % 2) * 0.08
    vol = 0.15 + grid + 0.7 * disc
    tint = np.linspace(1.0, 0.6, max(channels, 1))[:, None, None, None]
    return (np.clip(vol[None] * tint, 0, 1) * 255).astype(np.uint8)


def demo_signal(channels: int, length: int) -> np.ndarray:
    """uint8 C×L: two sines and a little noise."""
    rng = np.random.default_rng(0)
    t = np.arange(length) / max(length, 1)
    base = 0.6 * np.sin(2 * np.pi * 4 * t) + 0.3 * np.sin(2 * np.pi * 11 * t + 1)
    sig = base[None] * np.linspace(1, 0.7, max(channels, 1))[:, None]
    sig = sig + 0.03 * rng.standard_normal((max(channels, 1), length))
    return (np.clip(sig / 2.4 + 0.5, 0, 1) * 255).astype(np.uint8)
