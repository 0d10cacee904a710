"""What the receptive-field view draws for one unit, in input-pixel
coordinates, computed from the analysis alone (no Qt, no torch).

Pixel p covers [p, p + 1) on screen; a field of size r centred at c covers the
pixel centres c − (r−1)/2 … c + (r−1)/2, so its outline runs from
c − (r−1)/2 to c + (r−1)/2 + 1 — the inclusive pixel box below plus one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from designer.core.analysis import Analysis
from designer.core.catalogue import RF

Box = tuple[float, float, float, float]   # top, left, bottom, right (pixel centres, inclusive)
NEIGHBOUR_RADIUS = 3                      # at most this many units either side


@dataclass(frozen=True)
class Overlay:
    layer_id: str
    unit: tuple[int, int]
    input_size: tuple[int, int]
    rf: RF
    box: Box                       # the whole theoretical field
    clipped: Box | None            # its part inside the image (None: none of it)
    padding: list[Box] = field(default_factory=list)   # parts that fall in padding
    centre: tuple[float, float] = (0.0, 0.0)
    neighbours: list[tuple[float, float]] = field(default_factory=list)

    @property
    def whole(self) -> bool:
        return self.rf.whole

    @property
    def inside_share(self) -> float:
        """Share of the field's area that lies inside the image."""
        if self.clipped is None:
            return 0.0
        return _area(self.clipped) / _area(self.box)


def _area(b: Box) -> float:
    return (b[2] - b[0] + 1) * (b[3] - b[1] + 1)


def fmt_num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def fmt_pair(v: tuple[float, float], sep: str = "×") -> str:
    if v[0] == v[1]:
        return fmt_num(v[0])
    return f"{fmt_num(v[0])}{sep}{fmt_num(v[1])}"


def rf_label(rf: RF) -> str:
    """'RF 13×13, jump 4, start 1.5' (per-axis values where they differ)."""
    if rf.whole:
        return "sees the whole input"
    size = f"{fmt_num(rf.size[0])}×{fmt_num(rf.size[1])}"
    return (f"RF {size}, jump {fmt_pair(rf.jump, ', ')}, "
            f"start {fmt_pair(rf.start, ', ')}")


def feature_map_size(analysis: Analysis, layer_id: str) -> tuple[int, int] | None:
    """(H_out, W_out) for a layer with a spatial output, else None."""
    info = analysis.layers.get(layer_id)
    if info is None or info.output_shape is None or len(info.output_shape) != 3:
        return None
    return info.output_shape[1], info.output_shape[2]


def unit_centre(rf: RF, unit: tuple[int, int]) -> tuple[float, float]:
    return (rf.start[0] + unit[0] * rf.jump[0], rf.start[1] + unit[1] * rf.jump[1])


def _clip(box: Box, h: int, w: int) -> Box | None:
    top, left = max(box[0], 0.0), max(box[1], 0.0)
    bottom, right = min(box[2], h - 1.0), min(box[3], w - 1.0)
    if top > bottom or left > right:
        return None
    return (top, left, bottom, right)


def _padding_parts(box: Box, clipped: Box | None) -> list[Box]:
    """The box minus its clipped part, as up to four non-overlapping strips."""
    if clipped is None:
        return [box]
    parts: list[Box] = []
    top, left, bottom, right = box
    ct, cl, cb, cr = clipped
    if top < ct:
        parts.append((top, left, ct - 1, right))
    if bottom > cb:
        parts.append((cb + 1, left, bottom, right))
    if left < cl:
        parts.append((ct, left, cb, cl - 1))
    if right > cr:
        parts.append((ct, cr + 1, cb, right))
    return parts


def overlay(analysis: Analysis, layer_id: str, unit: tuple[int, int]) -> Overlay | None:
    """The drawing for one unit of a layer; None when the layer has no field.
    Layers that see the whole input get the whole image as their box."""
    info = analysis.layers.get(layer_id)
    if info is None or info.rf is None:
        return None
    rf = info.rf
    _, h, w = analysis.input_shape
    if rf.whole:
        whole: Box = (0.0, 0.0, h - 1.0, w - 1.0)
        return Overlay(layer_id, (0, 0), (h, w), rf, whole, whole, [],
                       ((h - 1) / 2, (w - 1) / 2), [])
    size = feature_map_size(analysis, layer_id)
    if size is not None:
        unit = (min(max(unit[0], 0), size[0] - 1), min(max(unit[1], 0), size[1] - 1))
    centre = unit_centre(rf, unit)
    half = ((rf.size[0] - 1) / 2, (rf.size[1] - 1) / 2)
    box: Box = (centre[0] - half[0], centre[1] - half[1],
                centre[0] + half[0], centre[1] + half[1])
    clipped = _clip(box, h, w)
    return Overlay(layer_id, unit, (h, w), rf, box, clipped, _padding_parts(box, clipped),
                   centre, _neighbours(rf, unit, size, box))


def _neighbours(rf: RF, unit: tuple[int, int], size: tuple[int, int] | None,
                box: Box) -> list[tuple[float, float]]:
    """Centres of the other units whose centres fall inside this unit's field."""
    if size is None:
        return []
    reach = [min(NEIGHBOUR_RADIUS, math.floor((rf.size[a] - 1) / 2 / rf.jump[a]))
             if rf.jump[a] > 0 else 0 for a in range(2)]
    out: list[tuple[float, float]] = []
    for di in range(-reach[0], reach[0] + 1):
        for dj in range(-reach[1], reach[1] + 1):
            i, j = unit[0] + di, unit[1] + dj
            if (di, dj) == (0, 0) or not (0 <= i < size[0] and 0 <= j < size[1]):
                continue
            c = unit_centre(rf, (i, j))
            if box[0] <= c[0] <= box[2] and box[1] <= c[1] <= box[3]:
                out.append(c)
    return out
