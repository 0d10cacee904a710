"""Step and epoch time from the design's MACs and a calibration of the device.

The calibration (designer/nn/calibrate.py, measured once per device, CPU or
GPU model, thread count and precision) gives training throughputs: multiply-
accumulates per second for dense convolutions (at a long and a short
reduction), dilated ones, depthwise ones and matrix products; bytes per second
for the memory-bound layers (on maps that fit the caches and on maps that do
not); a fixed cost per layer (larger for convolutions
and matrix products); and a fixed cost per step (loss, optimizer, the trainer's augmentation and bookkeeping).

Each layer costs its compute or its memory traffic, plus the per-layer cost.
A convolution's training MACs are three times its forward MACs (forward, input
gradient, weight gradient; two for a layer that reads the images). A
memory-bound layer moves a number of elements per input and output element
that depends on its type (TRAFFIC). The optimizer step reads and writes every
parameter a few times (OPTIMIZER_PASSES). An epoch is its training steps plus
the trainer's evaluation of the validation and test images after every epoch,
in batches of EVAL_BATCH, forward only. Pure Python: it runs with the memory
plan, on every edit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from designer.core.analysis import Analysis
from designer.core.calibration_data import Calibration
from designer.core.conv_fit import BIG_N
from designer.core.model import INPUT_ID, Design

# How far off a whole network can be from the sum of its layers' costs
# (tests/benchmarks/memory_plan.py); the calibration's own spread adds to it.
RELATIVE_UNCERTAINTY = 0.3
# the 1x1 convolution timed against the model (Calibration.pointwise_factor):
# 256 -> 256 over 8 images of 32x32 (the big probe's positions on a CPU)
POINTWISE_C, POINTWISE_M = 256, 8 * 32 * 32
# ... and 48 -> 48 (Calibration.small_pointwise_factor)
SMALL_POINTWISE_C = 48
EVAL_BATCH = 1024              # designer/nn/train_eval.py evaluates in batches of this
EVAL_BATCH_ELEMENTS = EVAL_BATCH * 3072   # ... of CIFAR images; fewer of larger inputs


def eval_batch_size(image_elements: int) -> int:
    """The batch the trainer evaluates in (designer/nn/trainer.py eval_batch):
    EVAL_BATCH CIFAR-sized images, fewer of larger ones (20 at 3x224x224)."""
    return max(1, min(EVAL_BATCH, EVAL_BATCH_ELEMENTS // max(1, image_elements)))
# Elements read + written per input element (I) and output element (O) of a
# memory-bound layer, forward + backward (train) and forward alone (eval),
# from the kernels' passes; checked against single layers timed on a CPU.
# (train I, train O, eval I, eval O)
_RELU = (1.0, 4.0, 1.0, 1.0)            # y = f(x); grad reads y and dy, writes dx
_TRANSCENDENTAL = (2.0, 9.0, 2.0, 3.0)  # erf/exp per element cost like extra passes
_NORM = (5.0, 3.0, 1.0, 1.0)            # stats pass, normalise; two backward passes
TRAFFIC: dict[str, tuple[float, float, float, float]] = {
    "ReLU": _RELU, "ReLU6": _RELU, "LeakyReLU": _RELU, "Hardtanh": _RELU,
    "Hardsigmoid": _RELU, "PReLU": (2.0, 5.0, 1.0, 1.0),
    "GELU": _TRANSCENDENTAL, "SiLU": _TRANSCENDENTAL, "ELU": _TRANSCENDENTAL,
    "Mish": _TRANSCENDENTAL, "Sigmoid": _TRANSCENDENTAL, "Tanh": _TRANSCENDENTAL,
    "Hardswish": _TRANSCENDENTAL,
    "BatchNorm2d": _NORM, "BatchNorm1d": _NORM,
    "GroupNorm": (6.0, 3.0, 2.0, 1.0), "LayerNorm": (6.0, 3.0, 2.0, 1.0),
    # indices are int64: twice an fp32 element
    "MaxPool2d": (3.0, 6.0, 1.0, 1.0), "AdaptiveMaxPool2d": (3.0, 6.0, 1.0, 1.0),
    # (average pooling's backward scatters: ~1x and, to one pixel, ~4x a ReLU's
    # time per input element, measured with dense gradients)
    "AvgPool2d": (5.0, 4.0, 1.0, 1.0), "AdaptiveAvgPool2d": (16.0, 2.0, 1.0, 1.0),
    "MaxUnpool2d": (2.0, 4.0, 1.0, 2.0), "Upsample": (2.0, 3.0, 1.0, 1.0),
    "Add": (1.0, 2.0, 1.0, 1.0), "Mul": (3.0, 3.0, 1.0, 1.0), "Concat": (1.0, 1.0, 1.0, 1.0),
    "Split": (1.0, 1.0, 0.0, 0.0),              # views forward; backward concatenates
    "ChannelShuffle": (5.0, 5.0, 2.5, 2.5),     # a strided copy each way
    "Dropout": (5.0, 3.0, 0.0, 0.0), "Dropout2d": (3.0, 3.0, 0.0, 0.0),
    "Softmax": (3.0, 4.0, 2.0, 1.0),
    "Flatten": (0.0, 0.0, 0.0, 0.0), "Identity": (0.0, 0.0, 0.0, 0.0),
}
_DEFAULT_TRAFFIC = (2.5, 2.5, 1.0, 1.0)


def traffic(type_name: str) -> tuple[float, float, float, float]:
    """TRAFFIC of a type; 1-D and 3-D types move what their 2-D kin does per
    element, instance norm what group norm does."""
    if type_name in TRAFFIC:
        return TRAFFIC[type_name]
    if type_name.startswith("InstanceNorm"):
        return TRAFFIC["GroupNorm"]
    for suffix in ("1d", "3d"):
        if type_name.endswith(suffix) and type_name[:-2] + "2d" in TRAFFIC:
            return TRAFFIC[type_name[:-2] + "2d"]
    return _DEFAULT_TRAFFIC
# The optimizer step's passes over the fp32 parameters (reads + writes of
# parameter-sized tensors: torch's foreach kernels, weight decay included)
OPTIMIZER_PASSES = {"sgd": 6, "sgd-momentum": 9, "adam": 16, "adamw": 18}
# Tensors above this are mapped fresh from the system on every allocation
# (glibc's largest mmap threshold): a large weight's gradient, made anew each
# step (zero_grad sets it to None), pays for first touching its pages, and so
# do the optimizer's temporaries of that size (FRESH_COPIES per gradient)
MMAP_THRESHOLD = 32 * 2 ** 20
# parameter tensors of the net the calibration times the optimizer's
# per-tensor cost on (Calibration.sgd_tensor_s, adam_tensor_s); its step
# overhead's net has 2
OPTIMIZER_TENSORS = 32
FRESH_COPIES = {"sgd": 2, "sgd-momentum": 3, "adam": 4, "adamw": 4}
# The trainer's data path per input element when the calibration has not
# measured it: gather the uint8 batch, pad, crop and flip with an int64 index,
# convert, normalise, reorder to channels_last
DATA_BYTES_PER_ELEMENT = 24


@dataclass(frozen=True)
class TimeEstimate:
    step_s: float                # one training step, the trainer's data path included
    epoch_s: float               # training steps + evaluation
    steps_per_epoch: int
    uncertainty: float           # relative, e.g. 0.3 for ±30%
    eval_s: float = 0.0          # the evaluation after each epoch (validation + test)

    @property
    def epoch_range(self) -> tuple[float, float]:
        u = self.uncertainty
        return self.epoch_s * (1 - u), self.epoch_s * (1 + u)


def _numel(shape: Any) -> int:
    n = 1
    for d in shape or ():
        n *= d
    return n


def _conv_kind(info: Any) -> tuple[bool, int, bool]:
    """(depthwise, reduction K, dilated) of a convolution layer."""
    shape = info.input_shapes[0] if info.input_shapes else None
    channels = shape[0] if shape else 1
    groups = int(info.resolved.get("groups", 1) or 1)
    k = info.resolved.get("kernel_size", 1)
    spatial = len(shape or (0, 0, 0)) - 1
    kk = _numel(k) if isinstance(k, (list, tuple)) else int(k) ** spatial
    d = info.resolved.get("dilation", 1)
    dilated = any(x != 1 for x in d) if isinstance(d, (list, tuple)) else d not in (1, None)
    depthwise = groups > 1 and groups == channels
    return depthwise, max(1, channels // groups * kk), bool(dilated)


def layer_seconds(info: Any, batch: int, itemsize: int, cal: Calibration,
                  first: bool = False, train: bool = True, heap_bytes: float = 0.0) -> float:
    """Seconds of one layer at this batch: forward + backward (train), or the
    forward pass of evaluation. A first layer computes no input gradient.
    heap_bytes: what the allocator's heap holds (_fresh_seconds)."""
    macs = info.macs * batch
    fixed = cal.layer_overhead_s
    if "Norm" in info.type:
        fixed = max(fixed, cal.norm_overhead_s)
    elif "Pool" in info.type:
        fixed = max(fixed, cal.pool_overhead_s)
    overhead = fixed if train else fixed / 3
    if info.type.startswith("Conv") or info.type == "Linear":
        # a first layer sets up two of the three kernels (no input gradient)
        fixed = _matmul_overhead(info, cal) * (2 / 3 if first and train else 1)
        matmul_overhead = max(overhead, fixed if train else fixed / 3)
        work = macs * ((2 if first else 3) if train else 1)
        if info.type == "Linear":
            seconds = work / cal.gemm_macs_per_s
        else:
            depthwise, reduction, dilated = _conv_kind(info)
            if depthwise:
                seconds = work / cal.depthwise_macs_per_s
                if not _plain_depthwise(info):
                    outputs = _numel(info.output_shape) * batch * (1 if train else 1 / 3)
                    seconds = max(seconds, outputs * cal.depthwise_other_seconds_per_output)
            else:
                factor = 1.0
                if not first and _is_pointwise(info) and len(info.output_shape or ()) == 3:
                    reduction *= 9
                    factor = _pointwise_factor(info, cal)
                seconds = work * factor * cal.conv_seconds_per_mac(
                    reduction, _out_channels(info, cal), _positions(info) * batch
                ) * _padding(info, cal, first)
            seconds *= cal.dilated_factor if dilated else 1.0
        # (a first layer reads the few image channels as they are: no reorder)
        if info.type.endswith("3d") and cal.reorder_seconds_per_element > 0 and not first:
            maps = (sum(_numel(s) for s in info.input_shapes) + _numel(info.output_shape)) * batch
            seconds += maps * cal.reorder_seconds_per_element / (1 if train else 3)
        # a large weight at a small batch (VGG's classifier) is bound by
        # reading it (forward, input gradient) and writing its gradient
        weight = (info.trainable_params + info.frozen_params) * 4
        streamed = weight * (3 if train else 1)
        return (max(seconds, streamed * cal.seconds_per_byte(weight)) + matmul_overhead
                + _fresh_seconds(info, batch, itemsize, cal, train, heap_bytes, first))
    t_in, t_out, e_in, e_out = traffic(info.type)
    numel_in = sum(_numel(s) for s in info.input_shapes)
    numel_out = _numel(info.output_shape)
    elements = (t_in * numel_in + t_out * numel_out) if train else (
        e_in * numel_in + e_out * numel_out)
    per_byte = cal.seconds_per_byte((numel_in + numel_out) * batch * itemsize, train)
    seconds = elements * batch * itemsize * per_byte * _scalar_channels(info, cal)
    seconds += _fresh_seconds(info, batch, itemsize, cal, train, heap_bytes, first)
    if info.type in POOL_FACTOR_TYPES and cal.pool_factor > 0:
        seconds *= cal.pool_factor
    elif info.type == "MaxPool3d":
        per_element = cal.pool3d_seconds_per_element if train \
            else cal.pool3d_eval_seconds_per_element
        seconds = max(seconds, numel_in * batch * per_element)
    seconds += overhead
    if train and info.type == "Dropout":   # a random draw per element
        seconds += numel_in * batch * cal.random_seconds_per_element
    return seconds


# max pooling runs pool_factor times its traffic's time (measured in 2-D; 1-D
# pooling is the same kernel on one row; 3-D pooling was near its traffic)
POOL_FACTOR_TYPES = ("MaxPool2d", "AdaptiveMaxPool2d", "MaxPool1d", "AdaptiveMaxPool1d")


def _fresh_seconds(info: Any, batch: int, itemsize: int, cal: Calibration, train: bool,
                   heap_bytes: float = 0.0, first: bool = False) -> float:
    """Training's first touch of the pages of a layer's output and input
    gradients that are each over MMAP_THRESHOLD: glibc maps them fresh every
    step, unless a free block of its heap holds them. The heap keeps the
    step's smaller maps (heap_bytes), freed by the next forward: a tensor no
    larger comes from it (c3d_small at batch 4: 0-135 MB of page faults a
    step, against 294 MB of such tensors). Evaluation's is in its measured
    large-map bandwidth. A first layer computes no input gradient."""
    if not train or cal.large_train_bytes_per_s <= 0:
        return 0.0
    sizes = [_numel(info.output_shape)] + ([] if first else [_numel(s) for s in info.input_shapes])
    limit = max(MMAP_THRESHOLD, heap_bytes)
    fresh = sum(n * batch * itemsize for n in sizes if n * batch * itemsize > limit)
    return fresh * cal.fresh_seconds_per_byte


def heap_bytes(analysis: Analysis, batch: int, itemsize: int) -> float:
    """The maps of a training step below MMAP_THRESHOLD, which glibc's heap
    holds (the forward keeps them for the backward) and, freed, reuses."""
    sizes = (_numel(info.output_shape) * batch * itemsize for info in analysis.layers.values())
    return float(sum(n for n in sizes if n <= MMAP_THRESHOLD))


def _padding(info: Any, cal: Calibration, first: bool = False) -> float:
    """How much more a 2-D channels_last convolution computes than its MACs
    when its input and output channels (per group) are padded to whole
    vectors of lanes, and unaligned input channels take a slower kernel. A
    first layer's few image channels are neither: oneDNN broadcasts them."""
    shape = info.input_shapes[0] if info.input_shapes else None
    lanes = cal.lanes
    if lanes <= 1 or not shape or len(shape) != 3 or not info.output_shape:
        return 1.0
    groups = int(info.resolved.get("groups", 1) or 1)
    factor = 1.0
    for channels in ((0 if first else shape[0] // groups), info.output_shape[0] // groups):
        if channels > 0:
            factor *= math.ceil(channels / lanes) * lanes / channels
    if not first and (shape[0] // groups) % lanes:
        factor *= max(1.0, cal.unaligned_factor)
    return factor


def _each(value: Any, want: int) -> bool:
    """A size parameter (an int or one per dimension) is want everywhere."""
    return all(v == want for v in (value if isinstance(value, (list, tuple)) else [value]))


def _plain_depthwise(info: Any) -> bool:
    """A depthwise convolution of the calibrated kind: 3x3 (or 3), stride 1,
    no dilation."""
    r = info.resolved
    return _each(r.get("kernel_size", 3), 3) and _each(r.get("stride", 1), 1) \
        and _each(r.get("dilation", 1), 1)


def slow_in_cpu_bf16(analysis: Analysis) -> list[str]:
    """The layers torch runs far slower in bf16 than in fp32 on a CPU: the
    depthwise convolutions other than 3x3 with stride 1 (a reference path,
    4-15x fp32's time with torch 2.13)."""
    infos = ((lid, analysis.layers[lid]) for lid in analysis.order)
    return [lid for lid, info in infos if info.type.startswith("Conv")
            and _conv_kind(info)[0] and not _plain_depthwise(info)]


def _positions(info: Any) -> int:
    """A convolution's positions per image (its GEMM's M over the batch): the
    output's, or a transposed one's input's (the fewer of the two)."""
    shape = info.input_shapes[0] if info.input_shapes else None
    if not shape or not info.output_shape:
        return 0
    return min(_numel(shape[1:]), _numel(info.output_shape[1:]))


def _out_channels(info: Any, cal: Calibration) -> int:
    """A convolution's output channels per group, padded to whole vectors."""
    if not info.output_shape:
        return BIG_N
    groups = int(info.resolved.get("groups", 1) or 1)
    n = max(1, info.output_shape[0] // groups)
    return math.ceil(n / cal.lanes) * cal.lanes if cal.lanes > 1 else n


# 2-D layers whose channels_last kernels work on vectors of channels
VECTOR_CHANNELS = ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
                   "Upsample")


def _scalar_channels(info: Any, cal: Calibration) -> float:
    """How much slower a channels_last pooling or norm layer runs for the
    channels left over from whole blocks: pooling's blocks are vectors (6 of
    6 channels run scalar on AVX2), batch norm's two vectors (8 of 24)."""
    shape = info.input_shapes[0] if info.input_shapes else None
    if cal.lanes <= 1 or not shape or len(shape) != 3:
        return 1.0
    if info.type == "BatchNorm2d":
        return _norm_channels(shape[0], cal)
    if info.type in VECTOR_CHANNELS:
        block, factor = cal.lanes, cal.scalar_factor
    else:
        return 1.0
    if factor <= 1:
        return 1.0
    channels = shape[0]
    rest = channels % block
    return (channels - rest + rest * factor) / channels


def _norm_channels(channels: int, cal: Calibration) -> float:
    """Batch norm's slowdown for its channels beyond whole blocks of two
    vectors: whole vectors left over at norm_block_factor, the channels short
    of a vector at norm_tail_factor."""
    block = max(1.0, cal.norm_block_factor)
    tail = cal.norm_tail_factor if cal.norm_tail_factor > 1 else block
    rest = channels % (2 * cal.lanes)
    short = rest % cal.lanes
    return (channels - rest + (rest - short) * block + short * tail) / channels


def _matmul_overhead(info: Any, cal: Calibration) -> float:
    """The fixed cost of a convolution or Linear's forward + backward."""
    if info.type == "Linear":
        return cal.linear_overhead_s or cal.conv_overhead_s
    if _is_pointwise(info):
        return cal.pointwise_overhead_s or cal.conv_overhead_s
    return cal.conv_overhead_s


def _pointwise_factor(info: Any, cal: Calibration) -> float:
    """A dense 1x1 convolution's time against the model's for a 3x3 of its
    channels: the two measured factors, log-interpolated between their
    widths on the geometric mean of its channels, constant beyond them."""
    wide = cal.pointwise_factor or 1.0
    if cal.small_pointwise_factor <= 0:
        return wide
    width = math.sqrt(max(1, info.input_shapes[0][0]) * max(1, info.output_shape[0]))
    f = math.log(max(SMALL_POINTWISE_C, min(POINTWISE_C, width)) / SMALL_POINTWISE_C) \
        / math.log(POINTWISE_C / SMALL_POINTWISE_C)
    return cal.small_pointwise_factor + f * (wide - cal.small_pointwise_factor)


def _is_pointwise(info: Any) -> bool:
    """A dense (ungrouped, not transposed) convolution with a 1x1 kernel."""
    return _each(info.resolved.get("kernel_size", 1), 1) \
        and int(info.resolved.get("groups", 1) or 1) == 1 \
        and not info.type.startswith("ConvTranspose")


def optimizer_passes(optimizer: str, momentum: bool = True) -> int:
    if optimizer in ("adam", "adamw"):
        return OPTIMIZER_PASSES[optimizer]
    return OPTIMIZER_PASSES["sgd-momentum" if momentum else "sgd"]


def estimate(design: Design, analysis: Analysis, cal: Calibration, batch: int, train_images: int,
             eval_images: int, precision: str = "fp32", optimizer: str = "sgd",
             param_bytes: int = 0, momentum: bool = True,
             eval_batch: int | None = None, augment: bool = True) -> TimeEstimate:
    """Time of one training step and of one epoch (training, then evaluating
    eval_images in batches of eval_batch, by default the trainer's
    eval_batch_size, as the trainer does after each epoch),
    with its relative uncertainty. param_bytes: the trainable parameters' bytes;
    augment: the trainer crops or flips the images (2-D inputs only)."""
    itemsize = 2 if precision in ("bf16", "fp16") else 4
    first_layers = {lay.id for lay in design.layers if INPUT_ID in lay.inputs}
    image_elements = _numel(analysis.input_shape) if analysis.input_shape else 0
    if eval_batch is None:
        eval_batch = eval_batch_size(image_elements)
    eval_batch = max(1, min(eval_batch, eval_images))
    step = forward = 0.0
    heap = heap_bytes(analysis, batch, itemsize)
    for lid in analysis.order:
        info = analysis.layers[lid]
        first = lid in first_layers
        step += layer_seconds(info, batch, itemsize, cal, first, heap_bytes=heap)
        forward += layer_seconds(info, eval_batch, itemsize, cal, first, train=False)
    image = augment and analysis.input_shape is not None and len(analysis.input_shape) == 3
    per_element = cal.augment_seconds_per_element if image else cal.normalise_seconds_per_element
    data = image_elements * batch * (per_element or DATA_BYTES_PER_ELEMENT / cal.bytes_per_s)
    # the optimizer streams the parameters, their gradients and its state:
    # main memory's bandwidth once those outgrow the caches
    per_byte = cal.streaming_seconds_per_byte(3 * param_bytes)
    large = sum(info.trainable_params * 4 for info in analysis.layers.values()
                if info.trainable_params * 4 > MMAP_THRESHOLD)
    name = optimizer if optimizer in ("adam", "adamw") else (
        "sgd-momentum" if momentum else "sgd")
    step += large * FRESH_COPIES[name] * cal.fresh_seconds_per_byte
    step += (_optimizer_seconds(cal, name, param_bytes, per_byte)
             + data + cal.step_overhead_s
             + (cal.adam_step_extra_s if optimizer in ("adam", "adamw") else 0.0))
    step += max(0, _param_tensors(analysis) - 2) * _tensor_seconds(cal, name)
    steps = max(1, train_images // max(1, batch))
    eval_s = forward * eval_images / eval_batch if eval_images > 0 else 0.0
    return TimeEstimate(step, steps * step + eval_s, steps, RELATIVE_UNCERTAINTY + cal.spread,
                        eval_s)


def _optimizer_seconds(cal: Calibration, name: str, param_bytes: float,
                       per_byte: float) -> float:
    """The optimizer's passes over the parameters: its measured time per byte
    once they outgrow the caches, else OPTIMIZER_PASSES at per_byte."""
    measured = {"sgd": cal.sgd_seconds_per_byte, "sgd-momentum": cal.momentum_seconds_per_byte,
                "adam": cal.adam_seconds_per_byte, "adamw": cal.adamw_seconds_per_byte}[name]
    if measured > 0 and 3 * param_bytes > cal.map_bytes:
        return param_bytes * measured
    return param_bytes * OPTIMIZER_PASSES[name] * per_byte


def _param_tensors(analysis: Analysis) -> int:
    """The trainable parameter tensors (a weight, a bias, ...) the optimizer steps."""
    return sum(len(info.breakdown) for info in analysis.layers.values()
               if info.trainable_params > 0)


def _tensor_seconds(cal: Calibration, optimizer: str) -> float:
    """The optimizer step's time per parameter tensor; plain SGD runs fewer
    kernels per tensor than with momentum, in the ratio of their passes."""
    if optimizer in ("adam", "adamw"):
        return cal.adam_tensor_s
    return cal.sgd_tensor_s * OPTIMIZER_PASSES[optimizer] / OPTIMIZER_PASSES["sgd-momentum"]


def format_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 90:
        return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
