"""Convolution layer types: Conv1d/2d/3d and ConvTranspose1d/2d/3d, one rule per
kind generalised over the number of spatial axes."""
from __future__ import annotations

import math

from designer.core.catalogue import (RF, Ctx, LayerError, LayerType, Outcome, axis_names,
                                     conv_rf, nearest_divisor, prod, register)
from designer.core.params import (AXIS_LETTERS, BOOL, CHOICE, INT, PADDING, PAIR, REQUIRED,
                                  Fix, ParamSpec, axes_list, ntuple, short)

IN_CHANNELS = ParamSpec("in_channels", INT, REQUIRED, "input channels (inferred)",
                        minimum=1, inferred=True)
OUT_CHANNELS = ParamSpec("out_channels", INT, REQUIRED, "number of filters (output channels)",
                         minimum=1, maximum=65536, initial=16)
GROUPS = ParamSpec("groups", INT, 1, "split channels into independent groups "
                   "(groups = in_channels: depthwise)", minimum=1, maximum=65536)
BIAS = ParamSpec("bias", BOOL, True, "learn an additive bias per output channel")


def check_groups(c_in: int, c_out: int, groups: int) -> None:
    for what, n in (("input", c_in), ("output", c_out)):
        if n % groups:
            best = nearest_divisor(math.gcd(c_in, c_out), groups)
            raise LayerError(
                f"groups={groups} does not divide the {n} {what} channels: "
                f"each group needs the same number of channels",
                Fix(f"set groups = {best}", {"groups": best}))


def check_inferred(ctx: Ctx, name: str, value: int) -> None:
    given = ctx.p.get(name)
    if given is not None and given != value:
        raise LayerError(f"{name} is {given} in the file but the input gives {value}; "
                         f"it is inferred, so leave it out",
                         Fix(f"remove {name} (inferred: {value})", {name: None}))


def _conv_params(k: tuple[int, ...], c_in: int, c_out: int, groups: int,
                 bias: bool, c_per_group_label: str) -> tuple[list[tuple[str, int, str]], str]:
    per = c_in // groups
    w = prod(k) * per * c_out
    taps = "·".join(map(str, k))
    parts = [("weight", w, f"{taps}·{c_per_group_label}·{c_out} = {w}")]
    if bias:
        parts.append(("bias", c_out, f"{c_out}"))
    g = f"{c_in}/{groups}" if groups > 1 else f"{c_in}"
    total = w + (c_out if bias else 0)
    formula = (f"params = ({taps}·{g} + 1)·{c_out} = {total}" if bias
               else f"params = {taps}·{g}·{c_out} = {total}")
    return parts, formula


def _padding_fix(k_eff: tuple[int, ...], pad: tuple[int, ...], sizes: tuple[int, ...]) -> Fix:
    """The least padding per axis that makes the kernel fit (other axes kept)."""
    new = [max(p, math.ceil((ke - n) / 2)) for ke, p, n in zip(k_eff, pad, sizes)]
    value = short(new)
    return Fix(f"set padding = {value}", {"padding": value})


def _skipped(n: int, total_pad: int, k_eff: int, stride: int, right_pad: int) -> int:
    """Real input pixels at the end of an axis that no filter position reaches: the
    padded positions left over after the last window, less the right padding (a
    3x3 stride-2 conv with padding 1 on an even input only skips padding)."""
    leftover = (n + total_pad - k_eff) % stride
    return max(0, leftover - right_pad)


def _pad_term(left: int, right: int) -> str:
    """Padding in a size formula, written as pooling writes it: 2·p (or both sides
    when "same" pads unevenly)."""
    return f"2·{left}" if left == right else f"({left}+{right})"


_UNCOVERED = {1: "the last input samples are", 2: "the last input rows/columns are",
              3: "the last input slices/rows/columns are"}


def _conv(rank: int):
    def rule(ctx: Ctx) -> Outcome:
        return _conv_nd(ctx, rank)
    return rule


def _conv_nd(ctx: Ctx, rank: int) -> Outcome:
    c, sizes = ctx.spatial(rank)
    p = ctx.p
    check_inferred(ctx, "in_channels", c)
    c_out, groups = p["out_channels"], p["groups"]
    check_groups(c, c_out, groups)
    k, s, d = (ntuple(p[n], rank) for n in ("kernel_size", "stride", "dilation"))
    k_eff = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
    padding, mode = p["padding"], p["padding_mode"]
    if padding == "same":
        if s != (1,) * rank:
            raise LayerError("padding=\"same\" only works with stride 1",
                             Fix("use stride 1", {"stride": 1}))
        totals = tuple(ke - 1 for ke in k_eff)
        left = tuple(t // 2 for t in totals)
        right = tuple(t - t // 2 for t in totals)
    else:
        left = right = (0,) * rank if padding == "valid" else ntuple(padding, rank)
        totals = tuple(2 * x for x in left)
    size_text = "×".join(map(str, sizes))
    if mode in ("reflect", "circular"):
        for ax, n in enumerate(sizes):
            limit_ok = (max(left[ax], right[ax]) < n if mode == "reflect"
                        else max(left[ax], right[ax]) <= n)
            if not limit_ok:
                raise LayerError(
                    f"padding_mode \"{mode}\" needs padding "
                    f"{'smaller than' if mode == 'reflect' else 'at most'} the {size_text} input",
                    Fix("use padding_mode \"zeros\"", {"padding_mode": "zeros"}))
    outs = []
    for ax, n in enumerate(sizes):
        padded = n + totals[ax]
        if padded < k_eff[ax]:
            need = math.ceil((k_eff[ax] - n) / 2)
            what = f"kernel {k[ax]}" + (f" (dilation {d[ax]} spans {k_eff[ax]})" if d[ax] > 1 else "")
            fix = _padding_fix(k_eff, left, sizes) if mode == "zeros" else None
            raise LayerError(f"{what} is larger than the {size_text} input"
                             + (f" padded by {left[ax]}" if left[ax] else "")
                             + f": use padding {need} or a smaller kernel", fix)
        outs.append((padded - k_eff[ax]) // s[ax] + 1)
    params, pformula = _conv_params(k, c, c_out, groups, p["bias"],
                                    f"({c}/{groups})" if groups > 1 else f"{c}")
    macs = c_out * prod(outs) * (c // groups) * prod(k)
    formulas = [
        f"{a}_out = ⌊({n} + {_pad_term(lo, hi)} − {di}·({ki}−1) − 1)/{si}⌋ + 1 = {o}"
        for a, n, lo, hi, di, ki, si, o in zip(axis_names(rank), sizes, left, right, d, k, s,
                                               outs)]
    formulas += [
        pformula,
        f"MACs = {c_out}·{'·'.join(map(str, outs))}·{c // groups}·{'·'.join(map(str, k))}"
        f" = {macs:,}",
    ]
    warnings = []
    if padding != "same" and any(ke > 1 and _skipped(n, t, ke, st, r) for n, t, ke, st, r in
                                 zip(sizes, totals, k_eff, s, right)):
        warnings.append(f"{_UNCOVERED[rank]} not covered by any filter "
                        "position (the stride does not fit the input evenly)")
    return Outcome(shape=(c_out, *outs), params=params, macs=macs,
                   rf=conv_rf(k_eff, s, left), inferred={"in_channels": c},
                   formulas=formulas, warnings=warnings)


def _transposed_span(k: int, s: int, d: int) -> int:
    """Largest distance, in input steps, between two inputs that reach one output.
    Output o gets input i through tap t when o = i·s − p + t·d, so the taps that
    meet at one output are those with the same t·d mod s."""
    classes: dict[int, list[int]] = {}
    for t in range(k):
        classes.setdefault(t * d % s, []).append(t * d)
    return max((max(c) - min(c)) // s for c in classes.values())


def _transposed_rf(k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...],
                   d: tuple[int, ...]):
    """Fields of a transposed conv differ from unit to unit; size is the largest,
    jump the mean spacing and start the mean centre of the first unit."""
    def update(rf: RF) -> RF:
        size = tuple(r + _transposed_span(ki, st, di) * j
                     for r, ki, st, di, j in zip(rf.size, k, s, d, rf.jump))
        jump = tuple(j / st for j, st in zip(rf.jump, s))
        start = tuple(s0 + ((pi - di * (ki - 1) / 2) / st) * j
                      for s0, ki, st, pi, di, j in zip(rf.start, k, s, p, d, rf.jump))
        return RF(size, jump, start, rf.whole)  # type: ignore[arg-type]
    return update


def _conv_transpose(rank: int):
    def rule(ctx: Ctx) -> Outcome:
        return _conv_transpose_nd(ctx, rank)
    return rule


def _conv_transpose_nd(ctx: Ctx, rank: int) -> Outcome:
    c, sizes = ctx.spatial(rank)
    p = ctx.p
    check_inferred(ctx, "in_channels", c)
    c_out, groups = p["out_channels"], p["groups"]
    check_groups(c, c_out, groups)
    k, s, d = (ntuple(p[n], rank) for n in ("kernel_size", "stride", "dilation"))
    pad, op = ntuple(p["padding"], rank), ntuple(p["output_padding"], rank)
    for ax in range(rank):
        if op[ax] >= max(s[ax], d[ax]):
            raise LayerError(f"output_padding {op[ax]} must be smaller than the stride "
                             f"({s[ax]}) or the dilation ({d[ax]})",
                             Fix("set output_padding = 0", {"output_padding": 0}))
    outs = [(n - 1) * st - 2 * pi + di * (ki - 1) + oi + 1
            for n, st, pi, di, ki, oi in zip(sizes, s, pad, d, k, op)]
    if min(outs) < 1:
        raise LayerError(f"padding {p['padding']} removes the whole output "
                         f"({'×'.join(map(str, outs))}): use less padding",
                         Fix("set padding = 0", {"padding": 0}))
    per_out = c_out // groups
    taps = "·".join(map(str, k))
    weight = c * per_out * prod(k)
    params = [("weight", weight, f"{c}·{per_out}·{taps} = {weight}")]
    if p["bias"]:
        params.append(("bias", c_out, f"{c_out}"))
    total = weight + (c_out if p["bias"] else 0)
    macs = prod(sizes) * prod(k) * c * per_out
    formulas = [f"{a}_out = ({n}−1)·{si} − 2·{pi} + {di}·({ki}−1) + {oi} + 1 = {o}"
                for a, n, si, pi, di, ki, oi, o in zip(axis_names(rank), sizes, s, pad, d, k,
                                                       op, outs)]
    formulas += [
        f"params = {c}·{per_out}·{taps}" + (f" + {c_out}" if p["bias"] else "")
        + f" = {total}",
        f"MACs = {'·'.join(map(str, sizes))}·{taps}·{c}·{per_out} = {macs:,}",
    ]
    return Outcome(shape=(c_out, *outs), params=params, macs=macs,
                   rf=_transposed_rf(k, s, pad, d), inferred={"in_channels": c},
                   formulas=formulas)


def _specs(rank: int) -> dict[str, ParamSpec]:
    """The per-axis parameter specs for one spatial rank."""
    letters = ", ".join(f"k_{a}" for a in AXIS_LETTERS[rank])
    return {
        "kernel": ParamSpec("kernel_size", PAIR, REQUIRED, f"filter size k, or [{letters}]",
                            minimum=1, maximum=64, initial=3, rank=rank),
        "stride": ParamSpec("stride", PAIR, 1, "step between filter positions", minimum=1,
                            maximum=64, rank=rank),
        "dilation": ParamSpec("dilation", PAIR, 1, "spacing between filter taps (atrous)",
                              minimum=1, maximum=64, advanced=True, rank=rank),
        "padding": ParamSpec("padding", PADDING, 0, "zeros added around the input: a number, "
                             f"{axes_list(rank)}, \"same\" (keeps the size, stride 1) or "
                             "\"valid\" (none)", minimum=0, maximum=64, rank=rank),
        "tpadding": ParamSpec("padding", PAIR, 0, "rows/columns removed from each border of "
                              "the output", minimum=0, maximum=64, rank=rank),
        "output_padding": ParamSpec("output_padding", PAIR, 0, "extra rows/columns added on "
                                    "one side of the output", minimum=0, maximum=63,
                                    advanced=True, rank=rank),
    }


_PADDING_MODE = ParamSpec("padding_mode", CHOICE, "zeros", "how padding is filled",
                          choices=("zeros", "reflect", "replicate", "circular"), advanced=True)
_WHAT = {1: ("1-D convolution: slides learned filters along the signal",
             "transposed 1-D convolution: learned upsampling of a signal"),
         2: ("2-D convolution: slides learned filters over the feature map",
             "transposed convolution: learned upsampling (the gradient of a convolution)"),
         3: ("3-D convolution: slides learned filters over depth (or time), height and width",
             "transposed 3-D convolution: learned upsampling of a volume")}

for _rank in (2, 1, 3):
    _s = _specs(_rank)
    register(LayerType(
        f"Conv{_rank}d", "Convolution", _WHAT[_rank][0],
        (IN_CHANNELS, OUT_CHANNELS, _s["kernel"], _s["stride"], _s["padding"],
         _s["dilation"], GROUPS, BIAS, _PADDING_MODE),
        _conv(_rank), ranks=(_rank + 1,)))
    register(LayerType(
        f"ConvTranspose{_rank}d", "Convolution", _WHAT[_rank][1],
        (IN_CHANNELS, OUT_CHANNELS, _s["kernel"], _s["stride"], _s["tpadding"],
         _s["output_padding"], GROUPS, BIAS, _s["dilation"]),
        _conv_transpose(_rank), ranks=(_rank + 1,)))
