"""Pooling layer types: max, average and their adaptive (fixed-output) forms, for
1, 2 and 3 spatial axes."""
from __future__ import annotations

from designer.core.catalogue import (RF, Ctx, LayerError, LayerType, Outcome, axis_names,
                                     conv_rf, register, whole_rf)
from designer.core.params import (ADAPTIVE, AXIS_LETTERS, BOOL, OPT_INT, OPT_PAIR, PAIR,
                                  REQUIRED, Fix, ParamSpec, ntuple, short)

def _kernel(rank: int) -> ParamSpec:
    letters = ", ".join(f"k_{a}" for a in AXIS_LETTERS[rank])
    return ParamSpec("kernel_size", PAIR, REQUIRED, f"window size k, or [{letters}]",
                     minimum=1, maximum=64, initial=2, rank=rank)


def _stride(rank: int) -> ParamSpec:
    return ParamSpec("stride", OPT_PAIR, None, "step between windows (empty: the kernel size)",
                     minimum=1, maximum=64, rank=rank)


def _padding(rank: int) -> ParamSpec:
    return ParamSpec("padding", PAIR, 0, "implicit padding on each border (at most half the "
                     "kernel)", minimum=0, maximum=32, rank=rank)


CEIL = ParamSpec("ceil_mode", BOOL, False, "round the output size up instead of down",
                 advanced=True)


def pool_out(n: int, k: int, pad: int, s: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape."""
    out = (n + 2 * pad - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + pad:
        out -= 1
    return out


def _ceil_only(n: int, k: int, pad: int, s: int, d: int) -> int:
    return -((n + 2 * pad - d * (k - 1) - 1) // -s) + 1


def _smaller_window_fix(k: tuple[int, ...], pad: tuple[int, ...], dilation: tuple[int, ...],
                        sizes: tuple[int, ...]) -> Fix:
    """A kernel that fits the input: at most the input size, without dilation, and
    with the padding dropped where it would exceed half the new kernel."""
    new_k = [min(ki, n) for ki, n in zip(k, sizes)]
    params: dict[str, object] = {"kernel_size": short(new_k)}
    label = f"set kernel_size = {params['kernel_size']}"
    if any(di != 1 for di in dilation):
        params["dilation"] = None
        label += ", dilation 1"
    if any(p > nk // 2 for p, nk in zip(pad, new_k)):
        params["padding"] = None
        label += ", padding 0"
    return Fix(label, params)


def _pool(ctx: Ctx, rank: int, dilation: tuple[int, ...]) -> Outcome:
    c, sizes = ctx.spatial(rank)
    p = ctx.p
    k = ntuple(p["kernel_size"], rank)
    s = k if p["stride"] is None else ntuple(p["stride"], rank)
    pad = ntuple(p["padding"], rank)
    for ax in range(rank):
        if pad[ax] > k[ax] // 2:
            raise LayerError(f"padding {pad[ax]} is more than half the kernel size {k[ax]}",
                             Fix(f"set padding = {k[ax] // 2}", {"padding": k[ax] // 2}))
    outs = [pool_out(n, ki, pi, si, di, p["ceil_mode"])
            for n, ki, pi, si, di in zip(sizes, k, pad, s, dilation)]
    if min(outs) < 1:
        k_eff = [di * (ki - 1) + 1 for ki, di in zip(k, dilation)]
        raise LayerError(f"window {'×'.join(map(str, k_eff))} is larger than the "
                         f"{'×'.join(map(str, sizes))} input: "
                         f"use a smaller kernel or remove this pooling",
                         _smaller_window_fix(k, pad, dilation, sizes))
    rnd = "⌈" if p["ceil_mode"] else "⌊"
    rnd_close = "⌉" if p["ceil_mode"] else "⌋"
    formulas = []
    for axis, n, ki, pi, si, di, out in zip(axis_names(rank), sizes, k, pad, s, dilation,
                                            outs):
        text = f"{axis}_out = {rnd}({n} + 2·{pi} − {di}·({ki}−1) − 1)/{si}{rnd_close} + 1"
        if p["ceil_mode"] and out != _ceil_only(n, ki, pi, si, di):
            text += " − 1 (the last window would start in the padding)"
        formulas.append(f"{text} = {out}")
    formulas.append("params = 0")
    k_eff = tuple(di * (ki - 1) + 1 for ki, di in zip(k, dilation))
    return Outcome(shape=(c, *outs), rf=conv_rf(k_eff, s, pad), formulas=formulas)


def _max_pool(rank: int):
    def rule(ctx: Ctx) -> Outcome:
        out = _pool(ctx, rank, ntuple(ctx.p["dilation"], rank))
        if ctx.p["return_indices"]:
            out.ports = [("out", out.shape, None), ("indices", out.shape, None)]
            out.formulas.insert(-1, "indices: where each maximum was"
                                + (" (for MaxUnpool2d)" if rank == 2 else ""))
        return out
    return rule


def _max_pool_ports(params: dict[str, object]) -> tuple[str, ...]:
    return ("out", "indices") if params.get("return_indices") is True else ("out",)


def _avg_pool(rank: int):
    def rule(ctx: Ctx) -> Outcome:
        if ctx.p.get("divisor_override") == 0:
            raise LayerError("divisor_override cannot be 0",
                             Fix("clear divisor_override", {"divisor_override": None}))
        if rank == 3:  # torch's avg_pool3d wants each side at least the kernel, unpadded
            c, sizes = ctx.spatial(rank)
            k = ntuple(ctx.p["kernel_size"], 3)
            if any(ki > n for ki, n in zip(k, sizes)):
                raise LayerError(f"AvgPool3d's window {'×'.join(map(str, k))} is larger than "
                                 f"the {'×'.join(map(str, sizes))} input (padding does not "
                                 f"count for AvgPool3d): use a smaller kernel",
                                 _smaller_window_fix(k, ntuple(ctx.p["padding"], 3), (1, 1, 1),
                                                     sizes))
        return _pool(ctx, rank, (1,) * rank)
    return rule


def _adaptive_rf(sizes: tuple[int, ...], outs: tuple[int, ...]):
    """Adaptive pooling windows: [floor(i*n/o), ceil((i+1)*n/o)). The size is
    the largest window; the jump n/o; the start the first window's centre."""
    def update(rf: RF) -> RF:
        size, jump, start = [], [], []
        for r, j, s0, n, o in zip(rf.size, rf.jump, rf.start, sizes, outs):
            k_max = (n // o if n % o == 0 else
                     max(-(-(i + 1) * n // o) - (i * n) // o for i in range(o)))
            k0 = -(-n // o)
            size.append(r + (k_max - 1) * j)
            jump.append(j * n / o)
            start.append(s0 + (k0 - 1) / 2 * j)
        out = RF(tuple(size), tuple(jump), tuple(start), rf.whole)  # type: ignore[arg-type]
        return whole_rf(out) if all(o == 1 for o in outs) else out
    return update


def _adaptive(rank: int):
    def rule(ctx: Ctx) -> Outcome:
        c, sizes = ctx.spatial(rank)
        size = ctx.p["output_size"]
        o = list(size) if isinstance(size, list) else [size] * rank
        if rank == 1 and o[0] is None:  # torch's adaptive 1-D pools take no None
            raise LayerError(f"{ctx.type_name} needs an output length (null, keep the input "
                             f"size, works only for 2-D and 3-D pooling)",
                             Fix(f"set output_size = {sizes[0]}", {"output_size": sizes[0]}))
        outs = tuple(n if oi is None else oi for n, oi in zip(sizes, o))
        warnings = []
        out_text, in_text = "×".join(map(str, outs)), "×".join(map(str, sizes))
        if any(oi > n for oi, n in zip(outs, sizes)):
            warnings.append(f"output {out_text} is larger than the {in_text} input: "
                            f"values are repeated, nothing is pooled")
        window = "×".join(f"⌈{n}/{oi}⌉" for n, oi in zip(sizes, outs))
        formulas = [f"output = {out_text} (fixed); window ≈ {window}", "params = 0"]
        return Outcome(shape=(c, *outs), rf=_adaptive_rf(sizes, outs),
                       formulas=formulas, warnings=warnings)
    return rule


_AXES_WORDS = {1: "output length", 2: "output height and width",
               3: "output depth, height and width"}

for _rank in (2, 1, 3):
    _n = f"{_rank}d"
    _ranks = (_rank + 1,)
    register(LayerType(
        f"MaxPool{_n}", "Pooling", "keeps the largest value in each window",
        (_kernel(_rank), _stride(_rank), _padding(_rank),
         ParamSpec("dilation", PAIR, 1, "spacing between window taps", minimum=1, maximum=16,
                   advanced=True, rank=_rank),
         ParamSpec("return_indices", BOOL, False, "also output where each maximum was "
                   "(the 'indices' port" + (", for MaxUnpool2d)" if _rank == 2 else ")"),
                   advanced=True),
         CEIL), _max_pool(_rank), ports=_max_pool_ports, ranks=_ranks))
    _avg = (_kernel(_rank), _stride(_rank), _padding(_rank), CEIL,
            ParamSpec("count_include_pad", BOOL, True, "count padded zeros in the average",
                      advanced=True))
    if _rank > 1:  # AvgPool1d has no divisor_override
        _avg += (ParamSpec("divisor_override", OPT_INT, None, "divide by this instead of "
                           "the window size", minimum=1, maximum=4096, advanced=True),)
    register(LayerType(f"AvgPool{_n}", "Pooling", "averages each window", _avg,
                       _avg_pool(_rank), ranks=_ranks))
    _output_size = ParamSpec("output_size", ADAPTIVE, REQUIRED,
                             f"{_AXES_WORDS[_rank]} (1: global pooling)", minimum=1,
                             maximum=4096, initial=1, rank=_rank)
    register(LayerType(f"AdaptiveAvgPool{_n}", "Pooling",
                       "averages into a fixed output size (1: global average pooling)",
                       (_output_size,), _adaptive(_rank), ranks=_ranks))
    register(LayerType(f"AdaptiveMaxPool{_n}", "Pooling",
                       "max-pools into a fixed output size (1: global max pooling)",
                       (_output_size,), _adaptive(_rank), ranks=_ranks))
