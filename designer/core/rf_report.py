"""Receptive-field growth along a network and plain-words warnings about it.

Pure Python (no Qt, no torch): the growth chart and the receptive-field panel
read these rows and messages.

Gridding is detected exactly rather than by a rule of thumb: per axis we follow
the set of input pixels (relative to the unit's centre) that one unit really
depends on, layer by layer. A field whose pixel set has holes inside its extent
skips pixels (typically dilations that share a common factor, or a stride
larger than the kernel).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from designer.core.analysis import Analysis
from designer.core.catalogue import RF
from designer.core.model import INPUT_ID, Design

SMALL_FIELD_SHARE = 0.5   # deepest local field below this share of the input: warn
MAX_TRACKED = 4096        # per-axis pixel sets larger than this are treated as solid
EXPLICIT_WORK = 4 * MAX_TRACKED   # points built per layer and axis, at most (keeps it linear)


@dataclass(frozen=True)
class GrowthRow:
    """One layer's field for the growth chart, in topological order."""
    id: str
    type: str
    size: tuple[float, ...]     # per spatial axis: (l), (h, w) or (d, h, w)
    jump: tuple[float, ...]
    start: tuple[float, ...]
    whole: bool


@dataclass(frozen=True)
class RFWarning:
    layer_id: str
    kind: str        # "small_field" or "gridding"
    message: str


def growth_rows(analysis: Analysis) -> list[GrowthRow]:
    """Every layer with a known field, in topological order."""
    rows: list[GrowthRow] = []
    for lid in analysis.order:
        info = analysis.layers[lid]
        if info.rf is None:
            continue
        rf = info.rf
        rows.append(GrowthRow(lid, info.type, rf.size, rf.jump, rf.start, rf.whole))
    return rows


def deepest_local_field(analysis: Analysis) -> tuple[str, RF] | None:
    """The last layer (topologically) whose field is still local."""
    found: tuple[str, RF] | None = None
    for lid in analysis.order:
        rf = analysis.layers[lid].rf
        if rf is not None and not rf.whole:
            found = (lid, rf)
    return found


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def small_field_warning(analysis: Analysis) -> RFWarning | None:
    deepest = deepest_local_field(analysis)
    if deepest is None:
        return None
    lid, rf = deepest
    sizes = analysis.input_shape[1:]
    share = min(r / n for r, n in zip(rf.size, sizes))
    if share >= SMALL_FIELD_SHARE:
        return None
    seen = "×".join(_fmt(r) for r in rf.size[:len(sizes)])
    what = "samples" if len(sizes) == 1 else "voxels" if len(sizes) == 3 else "pixels"
    return RFWarning(lid, "small_field", (
        f"the deepest local units ({lid}) see only {seen} "
        f"{what} of the {'×'.join(map(str, sizes))} input ({share:.0%}): the network cannot "
        f"see whole objects, "
        f"only parts of them. Grow the field with more or larger-stride layers, pooling "
        f"or dilation before the classifier."))


# --- gridding -------------------------------------------------------------

_TAP_TYPES = {f"{kind}{r}d": r for kind in ("Conv", "MaxPool", "AvgPool") for r in (1, 2, 3)}


def _taps(info_type: str, resolved: dict[str, Any]
          ) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(kernel, dilation) per axis for layers whose taps we can follow."""
    rank = _TAP_TYPES.get(info_type)
    if rank is None:
        return None

    def each(v: Any, default: int) -> tuple[int, ...]:
        if v is None:
            return (default,) * rank
        if isinstance(v, (list, tuple)):
            return tuple(int(x) for x in v)
        return (int(v),) * rank
    kernel = each(resolved.get("kernel_size"), 1)
    dilation = each(resolved.get("dilation"), 1)
    return kernel, dilation


def _solid(size: float) -> "_Span":
    """Twice the offsets (exact halves) of a gap-free field of this size."""
    n = int(round(size))
    return _Span(-(n - 1), n - 1)


@dataclass(frozen=True)
class _Span:
    """The gap-free doubled offsets lo, lo+2, ..., hi: a solid field in O(1)
    space, so long stacks of layers stay linear (explicit sets grow with the
    field, which made the report quadratic in depth)."""
    lo: int
    hi: int

    def __len__(self) -> int:
        return (self.hi - self.lo) // 2 + 1

    def points(self) -> frozenset[int]:
        return frozenset(range(self.lo, self.hi + 1, 2))



def _compact(pts: frozenset[int]) -> "_Span | frozenset[int]":
    """A set without holes (one parity, every step of 2 present) becomes a _Span."""
    if not pts:
        return pts
    lo, hi = min(pts), max(pts)
    if (hi - lo) % 2 == 0 and len(pts) == (hi - lo) // 2 + 1 and \
            all((p - lo) % 2 == 0 for p in pts):
        return _Span(lo, hi)
    return pts


def _shift(pts: "_Span | frozenset[int]", by: int) -> "_Span | frozenset[int]":
    if isinstance(pts, _Span):
        return _Span(pts.lo + by, pts.hi + by)
    return frozenset(p + by for p in pts)


def _union(parts: list["_Span | frozenset[int]"]) -> "_Span | frozenset[int] | None":
    """The union, or None when it would hold more than MAX_TRACKED points."""
    if len(parts) == 1:
        return parts[0]
    spans = [p for p in parts if isinstance(p, _Span)]
    if len(spans) == len(parts):
        spans.sort(key=lambda sp: sp.lo)
        lo, hi = spans[0].lo, spans[0].hi
        for sp in spans[1:]:
            if sp.lo > hi + 2 or (sp.lo - lo) % 2:
                break
            hi = max(hi, sp.hi)
        else:
            return _Span(lo, hi)
    if sum(len(p) for p in parts) > EXPLICIT_WORK:
        return None
    out: set[int] = set()
    for p in parts:
        out.update(p.points() if isinstance(p, _Span) else p)
    return _compact(frozenset(out))


def _taps_sum(rel: "_Span | frozenset[int]", step: int, k: int,
              half: int) -> "_Span | frozenset[int] | None":
    """{r + t·step − half}: the Minkowski sum with k taps `step` apart (None:
    more than MAX_TRACKED points)."""
    if isinstance(rel, _Span) and (k == 1 or step <= rel.hi - rel.lo + 2):
        return _Span(rel.lo - half, rel.hi + (k - 1) * step - half)
    if len(rel) * k > EXPLICIT_WORK:
        return None
    base = rel.points() if isinstance(rel, _Span) else rel
    return _compact(frozenset(r + t * step - half for r in base for t in range(k)))


def _has_holes(points: "_Span | frozenset[int]") -> int:
    """How many pixels inside the extent the set misses (points are doubled offsets)."""
    if isinstance(points, _Span) or not points:
        return 0
    lo, hi = min(points), max(points)
    if all((p - lo) % 2 == 0 for p in points):
        return (hi - lo) // 2 + 1 - len(points)
    # a union of fields whose centres differ by half a pixel (a transposed conv's
    # mean start, joined by a skip): a half-step point covers its neighbours
    return sum(1 for x in range(lo, hi + 1, 2)
               if x not in points and x - 1 not in points and x + 1 not in points)


def _extent(points: "_Span | frozenset[int]") -> tuple[int, int]:
    """(pixels spanned, pixels seen)."""
    if isinstance(points, _Span):
        return len(points), len(points)
    span = (max(points) - min(points)) // 2 + 1
    return span, span - _has_holes(points)


def coverage(design: Design, analysis: Analysis) -> dict[str, tuple[frozenset[int], ...]]:
    """Per layer and spatial axis ((h, w) for images; (l) and (d, h, w) for
    other ranks): the doubled offsets (2·(pixel − centre)) of the input pixels
    that unit (0, 0) depends on. Only local fields are listed."""
    return {lid: tuple(_points(p) for p in axes)
            for lid, axes in _coverage(design, analysis).items()}


def _points(pts: "_Span | frozenset[int]") -> frozenset[int]:
    return pts.points() if isinstance(pts, _Span) else pts


def _coverage(design: Design, analysis: Analysis
              ) -> dict[str, tuple["_Span | frozenset[int]", ...]]:
    """coverage() in compact form: O(1) per layer while fields have no holes."""
    rank = len(analysis.input_shape) - 1
    sets: dict[str, tuple[Any, ...]] = {INPUT_ID: (_Span(0, 0),) * rank}
    # starts per output port: a spatial Split's sections start at different places
    starts: dict[tuple[str, int], tuple[float, ...]] = {(INPUT_ID, 0): (0.0,) * rank}
    for lid in analysis.order:
        info = analysis.layers[lid]
        rf = info.rf
        if rf is None or rf.whole or lid not in design:
            continue
        sources = info.sources
        if not sources or not all(s in sets for s, _ in sources):
            continue
        up = _upstream_rf(analysis, sources)
        taps = _taps(info.type, info.resolved)
        result: list[Any] = []
        for ax in range(min(rank, len(rf.size))):
            centre2 = int(round(2 * rf.start[ax]))
            pts: Any = None
            if taps is None and rf.size[ax] == up.size[ax] and rf.jump[ax] == up.jump[ax]:
                # doubled absolute positions of the upstream unit 0 (union over branches)
                absolute = _union([_shift(sets[src[0]][ax], int(round(2 * starts[src][ax])))
                                   for src in sources])
                pts = None if absolute is None else _shift(absolute, -centre2)
            elif taps is not None and float(up.jump[ax]).is_integer():
                k, d = taps[0][ax], taps[1][ax]
                j = int(up.jump[ax])
                up2 = int(round(2 * up.start[ax]))
                rel = _union([_shift(sets[src[0]][ax], int(round(2 * starts[src][ax])) - up2)
                              for src in sources])
                half = d * (k - 1) * j   # doubled (k_eff − 1)/2 · jump
                pts = None if rel is None else _taps_sum(rel, 2 * d * j, k, half)
            if pts is None or len(pts) > MAX_TRACKED:
                pts = _solid(rf.size[ax])
            result.append(pts)
        sets[lid] = tuple(result)
        for port, port_rf in enumerate(info.port_rfs):
            starts[(lid, port)] = rf.start if port_rf is None else port_rf.start
    sets.pop(INPUT_ID)
    return sets


def _upstream_rf(analysis: Analysis, sources: list[tuple[str, int]]) -> RF:
    from designer.core.analysis import merge_rf
    from designer.core.catalogue import input_rf
    fields = [input_rf(len(analysis.input_shape) - 1) if s == INPUT_ID
              else analysis.layers[s].port_rfs[port]
              for s, port in sources]
    return merge_rf([f for f in fields if f is not None])


def _dilations_on_path(design: Design, analysis: Analysis, lid: str) -> list[int]:
    """Dilation factors (>1) of the convolutions feeding lid along its first inputs."""
    out: list[int] = []
    cur = lid
    while cur != INPUT_ID and cur in design:
        info = analysis.layers[cur]
        taps = _taps(info.type, info.resolved)
        if taps is not None and max(taps[1]) > 1:
            out.append(max(taps[1]))
        inputs = design.layer(cur).inputs
        if not inputs:
            break
        cur = design.source_of(inputs[0])
    return list(reversed(out))


def gridding_warnings(design: Design, analysis: Analysis) -> list[RFWarning]:
    """One warning where holes first appear along a path, saying whether the
    deepest local field still has them."""
    sets = _coverage(design, analysis)
    holed = {lid for lid, axes in sets.items() if any(_has_holes(p) for p in axes)}
    if not holed:
        return []
    deepest = deepest_local_field(analysis)
    out: list[RFWarning] = []
    for lid in analysis.order:
        if lid not in holed:
            continue
        ups = design.sources(lid)
        if any(u in holed for u in ups):
            continue   # inherited: reported where it started
        ax_pts = max(sets[lid], key=_has_holes)  # the first axis with the most holes
        span, seen = _extent(ax_pts)
        dil = _dilations_on_path(design, analysis, lid)
        common = math.gcd(*dil) if len(dil) >= 2 else (dil[0] if dil else 1)
        if common > 1:
            why = (f"the dilations along the way ({', '.join(map(str, dil))}) share the "
                   f"factor {common}, so the kernel taps land on a grid and skip the pixels "
                   f"in between (gridding). Use dilations without a common factor (e.g. 1, 2, "
                   f"5) or put an undilated 3×3 convolution first")
        else:
            why = ("a stride or dilation larger than the kernel covers makes the taps "
                   "skip pixels. Use a kernel at least as large as the stride or dilation")
        if deepest is not None and deepest[0] in holed:
            tail = f"; the deepest field ({deepest[0]}) still has holes"
        else:
            tail = "; later layers fill the holes"
        out.append(RFWarning(lid, "gridding", (
            f"{lid}'s field spans {span} pixels per row but sees only {seen} of them: "
            f"{why}{tail}.")))
    return out


def rf_warnings(design: Design, analysis: Analysis) -> list[RFWarning]:
    out = gridding_warnings(design, analysis)
    small = small_field_warning(analysis)
    if small is not None:
        out.insert(0, small)
    return out
