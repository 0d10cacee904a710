"""What each layer type keeps for backward, per PyTorch's autograd formulas.

Measured against torch 2.13 with `torch.autograd.graph.saved_tensors_hooks`
(tests/test_core_planner_torch.py): a convolution keeps its input, ReLU its
output, max pooling its input and its indices (int64), dropout its mask (in the
input's dtype), batch norm its input and two per-channel statistics (fp32),
autocast keeps the low-precision copies it makes of a convolution's input and
weight. Pure Python: the planner runs on every edit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

FP32, LOWP, INT64 = 4, 2, 8


@dataclass(slots=True)
class RuleCtx:
    type: str
    p: dict[str, Any]                # resolved parameters
    in_shapes: list[tuple[int, ...]] # per sample
    in_numels: list[int]             # per sample
    in_itemsizes: list[int]
    in_grads: list[bool]             # does input i require grad
    trainable: bool                  # the layer has trainable parameters
    weight_numel: int                # its "weight" parameter, 0 if none
    out_numel: int                   # per sample
    out_shape: tuple[int, ...]
    lowp: bool                       # bf16/fp16 autocast is on
    device: str                      # cpu, cuda, mps
    channels_last: bool

    @property
    def itemsize(self) -> int:
        return self.in_itemsizes[0] if self.in_itemsizes else FP32


@dataclass(slots=True)
class Keep:
    """What one layer keeps. Extras are new storages owned by the layer:
    (label, bytes independent of the batch, bytes per sample)."""
    out_itemsize: int
    alias: int | None = None                          # output is a view of input i
    keep_inputs: tuple[int, ...] = ()
    casts: tuple[tuple[int, int], ...] = ()           # (input, itemsize) copies it keeps
    keep_output: bool = False
    extras: list[tuple[str, int, int]] = field(default_factory=list)
    out_int64_port: bool = False                      # MaxPool2d(return_indices): port 1


Rule = Callable[[RuleCtx], Keep]


def _promoted(c: RuleCtx) -> int:
    return max(c.in_itemsizes) if c.in_itemsizes else FP32


def _autocast_matmul(c: RuleCtx, keep_input: bool = True) -> Keep:
    """Conv/Linear: fp32 keeps the input as it is; autocast keeps a
    low-precision copy of the input (or the input, if already low precision)
    and of the weight."""
    if c.lowp:
        k = Keep(LOWP)
        if keep_input:
            k.casts = ((0, LOWP),)
        k.extras.append(("weight copy", c.weight_numel * LOWP, 0))
        return k
    return Keep(c.itemsize, keep_inputs=(0,) if keep_input else ())


def _conv(c: RuleCtx) -> Keep:
    # the input is kept whenever anything needs a gradient (even with a frozen weight)
    return _autocast_matmul(c)


def _linear(c: RuleCtx) -> Keep:
    # a frozen Linear needs only its weight (a parameter) for the input's gradient
    return _autocast_matmul(c, keep_input=c.trainable)


def _keeps_input(c: RuleCtx) -> Keep:
    return Keep(c.itemsize, keep_inputs=(0,))


def _keeps_output(c: RuleCtx) -> Keep:
    return Keep(c.itemsize, keep_output=True)


def _nothing(c: RuleCtx) -> Keep:
    return Keep(_promoted(c))


def _view(c: RuleCtx) -> Keep:
    return Keep(c.itemsize, alias=0)


def _flatten(c: RuleCtx) -> Keep:
    # a channels_last map with more than one pixel cannot be viewed flat: reshape copies
    shape = c.in_shapes[0]
    start = int(c.p.get("start_dim", 1) or 1)
    if c.channels_last and len(shape) == 3 and shape[1] * shape[2] > 1 and start <= 1:
        return Keep(c.itemsize)
    return _view(c)


def _max_pool(c: RuleCtx) -> Keep:
    k = Keep(c.itemsize, keep_inputs=(0,))
    k.extras.append(("indices (int64)", 0, c.out_numel * INT64))
    k.out_int64_port = bool(c.p.get("return_indices"))
    return k


def _batch_norm(c: RuleCtx) -> Keep:
    ch = c.out_shape[0] if c.out_shape else 1
    # with running statistics the batch statistics are fp32; without, the input's dtype
    stat = FP32 if c.p.get("track_running_stats", True) else c.itemsize
    return Keep(c.itemsize, keep_inputs=(0,), extras=[("mean, inverse std", 2 * ch * stat, 0)])


def _instance_norm(c: RuleCtx) -> Keep:
    """torch runs batch norm on the input viewed as 1 x (N·C) x ...: it keeps the
    input, a mean and inverse std per sample and channel, and the weight and
    running statistics repeated per sample (all fp32 when the fp32 weight takes
    part, else in the input's dtype)."""
    ch = c.out_shape[0] if c.out_shape else 1
    affine = bool(c.p.get("affine", False))
    track = bool(c.p.get("track_running_stats", False))
    stat = FP32 if affine else c.itemsize
    extras = [("mean, inverse std", 0, 2 * ch * stat)]
    if affine:
        extras.append(("weight per sample", 0, ch * FP32))
    if track:
        extras.append(("running statistics per sample", 0, 2 * ch * stat))
    return Keep(c.itemsize, keep_inputs=(0,), extras=extras)


def _fp32_on_cpu(rule: Rule) -> Rule:
    """3-D pooling is on CPU autocast's fp32 list: with bf16/fp16 on the CPU it
    keeps an fp32 copy of its input instead of the input, and outputs fp32."""
    def wrapped(c: RuleCtx) -> Keep:
        k = rule(c)
        if c.lowp and c.device == "cpu" and c.itemsize != FP32:
            k.casts = tuple((i, FP32) for i in k.keep_inputs)
            k.keep_inputs = ()
            k.out_itemsize = FP32
            k.extras = [(label, fixed, per * FP32 // c.itemsize if "int64" not in label
                         else per) for label, fixed, per in k.extras]
        return k
    return wrapped


def _norm_stats(groups_per_sample: int) -> list[tuple[str, int, int]]:
    return [("mean, inverse std", 0, 2 * groups_per_sample * FP32)]


def _fp32_on_cuda(c: RuleCtx, k: Keep) -> Keep:
    """CUDA autocast runs these ops in fp32: it keeps an fp32 copy of a
    low-precision input instead of the input."""
    if c.lowp and c.device == "cuda" and c.itemsize != FP32:
        k.casts = tuple((i, FP32) for i in k.keep_inputs)
        k.keep_inputs = ()
        k.out_itemsize = FP32
    return k


def _group_norm(c: RuleCtx) -> Keep:
    k = Keep(c.itemsize, keep_inputs=(0,), extras=_norm_stats(int(c.p["num_groups"])))
    return _fp32_on_cuda(c, k)


def _layer_norm(c: RuleCtx) -> Keep:
    norm = c.p.get("normalized_shape")
    if norm is None:
        inner = c.out_numel
    else:
        inner = 1
        for d in ([norm] if isinstance(norm, int) else norm):
            inner *= int(d)
    k = Keep(c.itemsize, keep_inputs=(0,), extras=_norm_stats(max(1, c.out_numel // inner)))
    return _fp32_on_cuda(c, k)


def _softmax(c: RuleCtx) -> Keep:
    k = Keep(c.itemsize, keep_output=True)
    if c.lowp and c.device == "cuda" and c.itemsize != FP32:
        k.out_itemsize = FP32  # CUDA autocast: softmax in fp32, keeps its fp32 output
    return k


def _dropout(c: RuleCtx) -> Keep:
    if float(c.p.get("p", 0.5)) <= 0.0:
        return _view(c)
    return Keep(c.itemsize, extras=[("mask", 0, c.in_numels[0] * c.itemsize)])


def _dropout2d(c: RuleCtx) -> Keep:
    if float(c.p.get("p", 0.5)) <= 0.0:
        return _view(c)
    channels = c.out_shape[0] if c.out_shape else 1
    return Keep(c.itemsize, extras=[("channel mask", 0, channels * c.itemsize)])


def _prelu(c: RuleCtx) -> Keep:
    if c.lowp and c.device == "cpu":  # in the CPU autocast low-precision list
        return Keep(LOWP, casts=((0, LOWP),), extras=[("weight copy", c.weight_numel * LOWP, 0)])
    return Keep(c.itemsize, keep_inputs=(0,))


def _mul(c: RuleCtx) -> Keep:
    # d(a*b)/da needs b and vice versa: each input is kept when the other needs a gradient
    n = len(c.in_numels)
    keep = tuple(i for i in range(n) if any(c.in_grads[j] for j in range(n) if j != i))
    return Keep(_promoted(c), keep_inputs=keep)


def _max_unpool(c: RuleCtx) -> Keep:
    return Keep(c.itemsize, keep_inputs=(1,) if len(c.in_numels) > 1 else ())


def _adaptive_avg(c: RuleCtx) -> Keep:
    # to 1x1 torch takes a mean, which keeps nothing; other sizes keep the input
    if c.out_shape and _prod(c.out_shape[1:]) == 1:
        return _nothing(c)
    return _keeps_input(c)


def _prod(xs: tuple[int, ...]) -> int:
    n = 1
    for d in xs:
        n *= d
    return n


def _fallback(c: RuleCtx) -> Keep:
    """An unknown type: assume it keeps every input and its output."""
    return Keep(_promoted(c), keep_inputs=tuple(range(len(c.in_numels))), keep_output=True)


RULES: dict[str, Rule] = {
    "Conv2d": _conv, "ConvTranspose2d": _conv, "Conv1d": _conv, "Conv3d": _conv,
    "ConvTranspose1d": _conv, "ConvTranspose3d": _conv,
    "Linear": _linear,
    "MaxPool2d": _max_pool, "MaxPool1d": _max_pool, "MaxPool3d": _max_pool,
    "AdaptiveMaxPool2d": _max_pool, "AdaptiveMaxPool1d": _max_pool,
    "AvgPool2d": _keeps_input, "AvgPool1d": _keeps_input, "AvgPool3d": _keeps_input,
    "AdaptiveAvgPool2d": _adaptive_avg, "AdaptiveAvgPool1d": _adaptive_avg,
    "AdaptiveAvgPool3d": _adaptive_avg,
    "BatchNorm2d": _batch_norm, "BatchNorm1d": _batch_norm, "BatchNorm3d": _batch_norm,
    "GroupNorm": _group_norm, "LayerNorm": _layer_norm,
    "Dropout": _dropout, "Dropout1d": _dropout2d, "Dropout2d": _dropout2d,
    "Dropout3d": _dropout2d,
    "ReLU": _keeps_output, "Sigmoid": _keeps_output, "Tanh": _keeps_output,
    "Softmax": _softmax,
    "LeakyReLU": _keeps_input, "GELU": _keeps_input, "SiLU": _keeps_input,
    "ELU": _keeps_input, "ReLU6": _keeps_input, "Hardswish": _keeps_input,
    "Hardsigmoid": _keeps_input, "Mish": _keeps_input, "PReLU": _prelu,
    "ChannelShuffle": _nothing, "Upsample": _nothing, "Add": _nothing, "Concat": _nothing,
    "Identity": _view, "Flatten": _flatten, "Split": _view,
    "Mul": _mul, "MaxUnpool2d": _max_unpool,
    "InstanceNorm1d": _instance_norm, "InstanceNorm2d": _instance_norm,
    "InstanceNorm3d": _instance_norm,
}
for _name in ("MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"):
    RULES[_name] = _fp32_on_cpu(RULES.get(_name, _max_pool))


def rule_for(type_name: str) -> Rule:
    return RULES.get(type_name, _fallback)


# Types whose "weight" goes into the weight-decay group (dim > 1), as make_optimizer does.
MATRIX_WEIGHTS = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                  "ConvTranspose3d", "Linear"}
