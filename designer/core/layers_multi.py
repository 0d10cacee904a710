"""Layer types with several inputs or outputs beyond Add/Concat: Split (one
output port per section), Mul (elementwise product with broadcasting) and
MaxUnpool2d (takes a MaxPool2d's `indices` port)."""
from __future__ import annotations

from typing import Any

from designer.core.catalogue import (RF, Ctx, LayerError, LayerType, Outcome, Shape,
                                     Source, describe_shape, fmt_shape, register)
from designer.core.layers_conv import _transposed_rf
from designer.core.params import INT, OPT_PAIR, PAIR, REQUIRED, SECTIONS, Fix, ParamSpec, pair


def split_sections(length: int, size_or_sections: int | list[int]) -> list[int]:
    """torch.split's section sizes along a dimension of `length`."""
    if isinstance(size_or_sections, int):
        k = size_or_sections
        return [k] * (length // k) + ([length % k] if length % k else [])
    return list(size_or_sections)


def _split_ports(params: dict[str, Any]) -> tuple[str, ...]:
    value = params.get("split_size_or_sections")
    if isinstance(value, list) and value:
        return tuple(str(i) for i in range(len(value)))
    return ("0",)


def _shift_rf(axis: int, offset: int):
    """A spatial section starting `offset` units in: its first unit is the
    input's unit `offset` along that axis."""
    def update(rf: RF) -> RF:
        start = list(rf.start)
        start[axis] += offset * rf.jump[axis]
        return RF(rf.size, rf.jump, tuple(start), rf.whole)  # type: ignore[arg-type]
    return update


def _split(ctx: Ctx) -> Outcome:
    s = ctx.shape
    n = len(s) + 1  # with the batch dimension
    dim = ctx.p["dim"]
    if not -n <= dim < n:
        raise LayerError(f"dim {dim} does not exist for {describe_shape(s)}",
                         Fix("split the channels (dim 1)", {"dim": 1}))
    d = dim % n
    if d == 0:
        raise LayerError("dim 0 is the batch: splitting it separates samples",
                         Fix("split the channels (dim 1)", {"dim": 1}))
    length = s[d - 1]
    given = ctx.p["split_size_or_sections"]
    sections = split_sections(length, given)
    if isinstance(given, list) and sum(sections) != length:
        fix = None
        if length % len(given) == 0:
            even = [length // len(given)] * len(given)
            fix = Fix(f"set split_size_or_sections = {even}", {"split_size_or_sections": even})
        raise LayerError(f"the sections {' + '.join(map(str, given))} = {sum(given)} must add "
                         f"up to the {length} values of dim {d} of {fmt_shape(s)}", fix)
    ports = []
    offset = 0
    for i, size in enumerate(sections):
        shape = s[:d - 1] + (size,) + s[d:]
        update = _shift_rf(d - 2, offset) if len(s) >= 2 and d >= 2 and offset else None
        ports.append((str(i), shape, update))
        offset += size
    formulas = [f"{length} along dim {d} → " + " + ".join(map(str, sections))
                + f" ({len(sections)} output{'s' if len(sections) > 1 else ''})"]
    warnings = []
    if len(sections) == 1:
        warnings.append("one section only: this Split passes its input through unchanged")
    return Outcome(shape=ports[0][1], ports=ports, formulas=formulas, warnings=warnings)


def broadcast(shapes: list[Shape]) -> Shape:
    """torch's broadcast of per-sample shapes of equal rank (each size equal or 1);
    LayerError otherwise."""
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first):
            raise LayerError(f"Mul needs inputs of the same rank (batch included), but gets "
                             f"{fmt_shape(first)} and {fmt_shape(s)}: a gate for a C×H×W map "
                             f"is C×1×1 (global pooling, then 1×1 convolutions)")
    out = []
    for sizes in zip(*shapes):
        big = {n for n in sizes if n != 1}
        if len(big) > 1:
            raise LayerError(
                f"Mul multiplies elementwise: each dimension must be equal or 1 (broadcast), "
                f"but gets {' and '.join(fmt_shape(s) for s in shapes)}")
        out.append(big.pop() if big else 1)
    return tuple(out)


def _mul(ctx: Ctx) -> Outcome:
    out = broadcast(ctx.shapes)
    note = (" (broadcast)" if any(s != out for s in ctx.shapes) else "")
    return Outcome(shape=out, formulas=[f"elementwise product of {len(ctx.shapes)} inputs"
                                        f"{note} → {fmt_shape(out)}", "params = 0"])


def _unpool_settings(p: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int],
                                                tuple[int, int]]:
    k = pair(p["kernel_size"])
    s = k if p.get("stride") is None else pair(p["stride"])
    return k, s, pair(p.get("padding", 0))


def _indices_source(ctx: Ctx) -> Source:
    src = ctx.sources[1] if len(ctx.sources) > 1 else None
    if src is None or src.type_name != "MaxPool2d" or src.port != "indices":
        got = "nothing" if src is None else f"'{src.id}' ({src.type_name}, output {src.port})"
        raise LayerError("MaxUnpool2d's second input must be the 'indices' output of a "
                         "MaxPool2d with return_indices (connect '<pool>:indices'), "
                         f"but it gets {got}")
    return src


def _first_at_or_past_zero(start: int, dilation: int) -> int:
    return start if start >= 0 else start + (-start + dilation - 1) // dilation * dilation


def _check_padding_only_windows(src: Source, pooled: tuple[int, int],
                                size: tuple[int, int]) -> None:
    """A MaxPool2d window that covers only padding (dilation can step over a
    small input) gives −∞ and the index of its first row and column at or past 0,
    which may lie outside the input: MaxUnpool2d then stops with "invalid max
    index". Rows (columns) with such windows pair with every column (row)."""
    k, s, pad = _unpool_settings(src.params)
    dil = pair(src.params.get("dilation") or 1)
    firsts, empty = [], []
    for n_out, n, ki, si, pi, di in zip(pooled, size, k, s, pad, dil):
        starts = [o * si - pi for o in range(n_out)]
        firsts.append([_first_at_or_past_zero(st, di) for st in starts])
        empty.append([not any(0 <= st + t * di < n for t in range(ki)) for st in starts])
    (rows, cols), (empty_rows, empty_cols) = firsts, empty
    h, w = size
    candidates = ([(r, max(cols)) for r, e in zip(rows, empty_rows) if e]
                  + [(max(rows), c) for c, e in zip(cols, empty_cols) if e])
    bad = [(r, c) for r, c in candidates if r * w + c >= h * w]
    if bad:
        r, c = max(bad)
        raise LayerError(f"a window of '{src.id}' covers only padding (dilation {dil[0]}×"
                         f"{dil[1]} steps over the {h}×{w} input): its index {r}·{w} + {c} = "
                         f"{r * w + c} lies outside the {h}×{w} output, which torch rejects "
                         f"(\"invalid max index\"); use dilation 1 or less padding on "
                         f"'{src.id}'")


def _max_unpool(ctx: Ctx) -> Outcome:
    c, h, w = ctx.image()
    src = _indices_source(ctx)
    k, s, pad = _unpool_settings(ctx.p)
    pk, ps, ppad = _unpool_settings(src.params)
    if (k, s, pad) != (pk, ps, ppad):
        def short(v: tuple[int, int]) -> int | list[int]:
            return v[0] if v[0] == v[1] else list(v)
        fix = {"kernel_size": short(pk), "stride": None if ps == pk else short(ps),
               "padding": None if ppad == (0, 0) else short(ppad)}
        raise LayerError(f"kernel, stride and padding ({k}, {s}, {pad}) must equal those of "
                         f"'{src.id}' ({pk}, {ps}, {ppad}), whose indices this layer uses",
                         Fix(f"copy the settings of '{src.id}'", fix))
    if ctx.shapes[1] != (c, h, w):
        raise LayerError(f"the values ({fmt_shape((c, h, w))}) must have the shape of the "
                         f"indices of '{src.id}' ({fmt_shape(ctx.shapes[1])}): unpool the "
                         f"map that has the pooled layer's shape")
    original = src.input_shape
    assert original is not None and len(original) == 3
    default = tuple((n - 1) * si + ki - 2 * pi for n, si, ki, pi in zip((h, w), s, k, pad))
    target = (original[1], original[2])
    for ax in range(2):
        if not default[ax] - s[ax] < target[ax] < default[ax] + s[ax]:
            raise LayerError(f"cannot restore the {target[0]}×{target[1]} size of the input "
                             f"of '{src.id}' from {h}×{w} (torch allows sizes between "
                             f"{default[ax] - s[ax] + 1} and {default[ax] + s[ax] - 1}): "
                             f"use dilation 1 on '{src.id}'")
    _check_padding_only_windows(src, (h, w), target)
    call = {} if target == default else {"output_size": target}
    formulas = [f"H_out = {target[0]}, W_out = {target[1]} (the input of '{src.id}')",
                f"default ({h}−1)·{s[0]} + {k[0]} − 2·{pad[0]} = {default[0]}, "
                f"({w}−1)·{s[1]} + {k[1]} − 2·{pad[1]} = {default[1]}"
                + ("" if not call else ": output_size is passed"),
                "params = 0"]
    return Outcome(shape=(c,) + target, rf=_transposed_rf(k, s, pad, (1, 1)),
                   call_kwargs=call, formulas=formulas)


register(LayerType(
    "Split", "Reshape", "splits a tensor into sections along a dimension (default: "
    "channels); one output per section (ShuffleNetV2)",
    (ParamSpec("split_size_or_sections", SECTIONS, REQUIRED,
               "size of each section, or a list of section sizes", minimum=1,
               maximum=65536, initial=[8, 8]),
     ParamSpec("dim", INT, 1, "dimension to split (1: channels, 2: height, 3: width; "
               "for a volume 2: depth, 3: height, 4: width)", minimum=-4, maximum=4)),
    _split, ports=_split_ports, torch_module=False))
register(LayerType("Mul", "Merge", "elementwise product of two or more inputs, with "
                   "broadcasting (a C×1×1 gate times a C×H×W map: squeeze-excitation)",
                   (), _mul, min_inputs=2, max_inputs=0, torch_module=False))
register(LayerType(
    "MaxUnpool2d", "Pooling", "puts each value back where its MaxPool2d took it from "
    "(zeros elsewhere); inputs: the values and the pool's 'indices' output",
    (ParamSpec("kernel_size", PAIR, REQUIRED, "window size of the MaxPool2d",
               minimum=1, maximum=64, initial=2),
     ParamSpec("stride", OPT_PAIR, None, "stride of the MaxPool2d (empty: the kernel size)",
               minimum=1, maximum=64),
     ParamSpec("padding", PAIR, 0, "padding of the MaxPool2d", minimum=0, maximum=32)),
    _max_unpool, min_inputs=2, max_inputs=2, ranks=(3,)))
