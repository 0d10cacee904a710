"""Pooling layer types: max, average and their adaptive (fixed-output) forms."""
from __future__ import annotations

from designer.core.catalogue import (RF, Ctx, LayerError, LayerType, Outcome,
                                     conv_rf, register, whole_rf)
from designer.core.params import (ADAPTIVE, BOOL, OPT_INT, OPT_PAIR, PAIR, REQUIRED, Fix,
                                  ParamSpec, pair)

KERNEL = ParamSpec("kernel_size", PAIR, REQUIRED, "window size k, or [k_h, k_w]",
                   minimum=1, maximum=64, initial=2)
STRIDE = ParamSpec("stride", OPT_PAIR, None, "step between windows (empty: the kernel size)",
                   minimum=1, maximum=64)
PADDING = ParamSpec("padding", PAIR, 0, "implicit padding on each border (at most half the kernel)",
                    minimum=0, maximum=32)
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


def _smaller_window_fix(k: tuple[int, int], pad: tuple[int, int], dilation: tuple[int, int],
                        sizes: tuple[int, int]) -> Fix:
    """A kernel that fits the input: at most the input size, without dilation, and
    with the padding dropped where it would exceed half the new kernel."""
    new_k = [min(ki, n) for ki, n in zip(k, sizes)]
    params: dict[str, object] = {"kernel_size": new_k[0] if new_k[0] == new_k[1] else new_k}
    label = f"set kernel_size = {params['kernel_size']}"
    if dilation != (1, 1):
        params["dilation"] = None
        label += ", dilation 1"
    if any(p > nk // 2 for p, nk in zip(pad, new_k)):
        params["padding"] = None
        label += ", padding 0"
    return Fix(label, params)


def _pool(ctx: Ctx, dilation: tuple[int, int]) -> Outcome:
    c, h, w = ctx.image()
    p = ctx.p
    k = pair(p["kernel_size"])
    s = k if p["stride"] is None else pair(p["stride"])
    pad = pair(p["padding"])
    for ax in range(2):
        if pad[ax] > k[ax] // 2:
            raise LayerError(f"padding {pad[ax]} is more than half the kernel size {k[ax]}",
                             Fix(f"set padding = {k[ax] // 2}", {"padding": k[ax] // 2}))
    outs = [pool_out(n, ki, pi, si, di, p["ceil_mode"])
            for n, ki, pi, si, di in zip((h, w), k, pad, s, dilation)]
    if min(outs) < 1:
        k_eff = [di * (ki - 1) + 1 for ki, di in zip(k, dilation)]
        raise LayerError(f"window {k_eff[0]}×{k_eff[1]} is larger than the {h}×{w} input: "
                         f"use a smaller kernel or remove this pooling",
                         _smaller_window_fix(k, pad, dilation, (h, w)))
    ho, wo = outs
    rnd = "⌈" if p["ceil_mode"] else "⌊"
    rnd_close = "⌉" if p["ceil_mode"] else "⌋"
    formulas = []
    for axis, n, ki, pi, si, di, out in zip("HW", (h, w), k, pad, s, dilation, outs):
        text = f"{axis}_out = {rnd}({n} + 2·{pi} − {di}·({ki}−1) − 1)/{si}{rnd_close} + 1"
        if p["ceil_mode"] and out != _ceil_only(n, ki, pi, si, di):
            text += " − 1 (the last window would start in the padding)"
        formulas.append(f"{text} = {out}")
    formulas.append("params = 0")
    k_eff = tuple(di * (ki - 1) + 1 for ki, di in zip(k, dilation))
    return Outcome(shape=(c, ho, wo), rf=conv_rf(k_eff, s, pad), formulas=formulas)


def _max_pool(ctx: Ctx) -> Outcome:
    out = _pool(ctx, pair(ctx.p["dilation"]))
    if ctx.p["return_indices"]:
        out.ports = [("out", out.shape, None), ("indices", out.shape, None)]
        out.formulas.insert(-1, "indices: where each maximum was (for MaxUnpool2d)")
    return out


def _max_pool_ports(params: dict[str, object]) -> tuple[str, ...]:
    return ("out", "indices") if params.get("return_indices") is True else ("out",)


def _avg_pool(ctx: Ctx) -> Outcome:
    if ctx.p["divisor_override"] == 0:
        raise LayerError("divisor_override cannot be 0", Fix("clear divisor_override",
                                                             {"divisor_override": None}))
    return _pool(ctx, (1, 1))


def _adaptive_rf(sizes: tuple[int, int], outs: tuple[int, int]):
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
        return whole_rf(out) if outs == (1, 1) else out
    return update


def _adaptive(ctx: Ctx) -> Outcome:
    c, h, w = ctx.image()
    size = ctx.p["output_size"]
    o = list(size) if isinstance(size, list) else [size, size]
    outs = (h if o[0] is None else o[0], w if o[1] is None else o[1])
    warnings = []
    if outs[0] > h or outs[1] > w:
        warnings.append(f"output {outs[0]}×{outs[1]} is larger than the {h}×{w} input: "
                        f"values are repeated, nothing is pooled")
    formulas = [f"output = {outs[0]}×{outs[1]} (fixed); window ≈ ⌈{h}/{outs[0]}⌉×⌈{w}/{outs[1]}⌉",
                "params = 0"]
    return Outcome(shape=(c, outs[0], outs[1]), rf=_adaptive_rf((h, w), outs),
                   formulas=formulas, warnings=warnings)


OUTPUT_SIZE = ParamSpec("output_size", ADAPTIVE, REQUIRED,
                        "output height and width (1: global pooling)", minimum=1,
                        maximum=4096, initial=1)

register(LayerType(
    "MaxPool2d", "Pooling", "keeps the largest value in each window",
    (KERNEL, STRIDE, PADDING,
     ParamSpec("dilation", PAIR, 1, "spacing between window taps", minimum=1, maximum=16,
               advanced=True),
     ParamSpec("return_indices", BOOL, False, "also output where each maximum was "
               "(the 'indices' port, for MaxUnpool2d)", advanced=True),
     CEIL), _max_pool, ports=_max_pool_ports))

register(LayerType(
    "AvgPool2d", "Pooling", "averages each window",
    (KERNEL, STRIDE, PADDING, CEIL,
     ParamSpec("count_include_pad", BOOL, True, "count padded zeros in the average",
               advanced=True),
     ParamSpec("divisor_override", OPT_INT, None, "divide by this instead of the window size",
               minimum=1, maximum=4096, advanced=True)),
    _avg_pool))

register(LayerType("AdaptiveAvgPool2d", "Pooling",
                   "averages into a fixed output size (1: global average pooling)",
                   (OUTPUT_SIZE,), _adaptive))
register(LayerType("AdaptiveMaxPool2d", "Pooling",
                   "max-pools into a fixed output size (1: global max pooling)",
                   (OUTPUT_SIZE,), _adaptive))
