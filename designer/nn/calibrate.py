"""A short calibration of the training device for the time estimate
(designer/core/plan_time.py): throughput of dense (long and short reduction,
dilated or not) and depthwise convolutions, a matrix product and memory-bound
layers, forward plus backward; the fixed costs of a layer, of 3x3 and 1x1
convolutions and of a matrix product, and of the trainer's step; its data
path per element; Dropout's random draws; channels_last kernels on channels
short of a vector; 3-D layout reorders and max pooling; each optimizer's
step on a large parameter; with the precision and memory format the trainer
would use. Measured once per device (CPU or GPU model), thread count,
precision and memory format (10-30 s on a 2-core CPU) and cached as JSON; the key carries CALIBRATION_VERSION so a changed calibration is
measured afresh."""
from __future__ import annotations

import json
import math
import mmap
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from designer.core.conv_fit import FEW_K, FEW_M, FEW_N, MID_M
from designer.core.calibration_data import Calibration, median_of
from designer.core.plan_time import (OPTIMIZER_TENSORS, POINTWISE_C, POINTWISE_M,
                                     SMALL_POINTWISE_C, TRAFFIC)
from designer.core.training_config import TrainConfig
from designer.nn import allocator
from designer.nn import train_setup as setup
from designer.nn.augment import Normaliser, augment_batch

STATE_ENV = "CNN_DESIGNER_STATE_DIR"
# The clock the measurements use; a benchmark on a loaded machine may set
# time.thread_time with one torch thread (CPU time is immune to other processes)
clock: Callable[[], float] = time.perf_counter
CACHE_NAME = "calibration.json"


def default_cache_dir() -> Path:
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cnn-designer"


# Bumped whenever measure() changes what it measures: older cached entries
# are then measured again rather than read with a different meaning.
CALIBRATION_VERSION = 15


def cpu_model() -> str:
    """The CPU's model name (platform.processor() is only "x86_64" on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_key(device: torch.device, precision: str, channels_last: bool) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        threads = 0
    else:
        name = cpu_model()
        threads = torch.get_num_threads()
    return (f"v{CALIBRATION_VERSION}|{device.type}|{name}|{threads} threads|{precision}"
            f"|cl={int(channels_last)}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


WARMUP = 2


def _best(run: Callable[[], object], device: torch.device, reps: int) -> list[float]:
    """Seconds of run() per repetition, after WARMUP runs: the first runs of a
    size fault in fresh pages until the allocator has blocks of that size to
    reuse, which a training loop's steady state does not pay (the trainer
    keeps freed memory: allocator.keep_freed_memory)."""
    times = []
    for i in range(reps + WARMUP):
        _sync(device)
        start = clock()
        run()
        _sync(device)
        if i >= WARMUP:
            times.append(clock() - start)
    return times


def as_activation(x: torch.Tensor, precision: str) -> torch.Tensor:
    """x as a layer inside a network receives it: in the low precision, which
    a convolution or Linear before it writes under autocast (bf16 batch norm,
    activations and pooling run at other speeds than fp32's)."""
    if precision == "fp32" or not x.is_floating_point():
        return x
    return x.to(torch.bfloat16 if precision == "bf16" else torch.float16)


def _train_run(module: nn.Module, x: torch.Tensor, device: torch.device,
               precision: str) -> Callable[[], None]:
    """One forward + backward of module on x."""
    module.to(device)
    x = as_activation(x.to(device), precision).requires_grad_(True)

    # a dense gradient in the output's layout, as a loss gives: sum()'s
    # zero-stride one sends batch norm and pooling down slow paths (2-4x)
    with torch.no_grad(), setup.autocast(device, precision):
        grad = torch.ones_like(module(x))

    def run() -> None:
        with setup.autocast(device, precision):
            out = module(x)
        out.backward(grad)
        module.zero_grad(set_to_none=True)
        x.grad = None
    return run


def _time_train(module: nn.Module, x: torch.Tensor, device: torch.device, precision: str,
                reps: int) -> list[float]:
    """Seconds of forward + backward per repetition."""
    return _best(_train_run(module, x, device, precision), device, reps)


def _time_alternately(runs: tuple[Callable[[], object], ...], device: torch.device,
                      reps: int) -> list[float]:
    """Each run's best time, the runs timed in turn: the host's speed drifts
    by tens of percent over seconds, which runs timed one after the other
    would read as a difference between them."""
    best = [math.inf] * len(runs)
    for i in range(reps + WARMUP):
        for k, run in enumerate(runs):
            _sync(device)
            start = clock()
            run()
            _sync(device)
            if i >= WARMUP:
                best[k] = min(best[k], clock() - start)
    return best


def _time_ratio(runs: tuple[Callable[[], None], Callable[[], None]], device: torch.device,
                reps: int) -> float:
    """The first run's best time over the second's, timed alternately."""
    slow, fast = _time_alternately(runs, device, reps)
    return slow / max(fast, 1e-9)


def _optimizer_tensor_seconds(device: torch.device, optimizer: str, reps: int) -> float:
    """The optimizer step's cost per parameter tensor: on the CPU torch steps
    the tensors one by one in Python (~13 us each for SGD with momentum, ~37
    for Adam, measured here), from tiny Linear layers: 32 tensors against 2."""
    def step(layers: int) -> Callable[[], object]:
        model = nn.Sequential(*[nn.Linear(8, 8) for _ in range(layers)]).to(device)
        for param in model.parameters():
            param.grad = torch.randn_like(param)
        return setup.make_optimizer(model, TrainConfig(optimizer=optimizer)).step
    many, few = _time_alternately((step(OPTIMIZER_TENSORS // 2), step(1)), device, reps)
    return max(0.0, many - few) / (OPTIMIZER_TENSORS - 2)


# the plan's optimizers as the trainer makes them: (optimizer, momentum)
OPTIMIZER_SETTINGS = {"sgd": ("sgd", 0.0), "sgd-momentum": ("sgd", 0.9),
                      "adam": ("adam", 0.0), "adamw": ("adamw", 0.0)}
# the parameter the optimizers' streaming is timed on: 64 MB in fp32
OPTIMIZER_PROBE_ELEMENTS = 16 * 2 ** 20


def _optimizer_byte_seconds(device: torch.device, optimizer: str, momentum: float,
                            reps: int) -> float:
    """The optimizer's step per parameter byte on one parameter far larger
    than the caches, as the trainer makes it: on a CPU torch's for-loop
    implementations make new tensors for weight decay and Adam's
    denominator (one 512 MB tensor: SGD 34 ms, with momentum 147, Adam 238,
    AdamW 243 here: 3, 13, 21 and 21 passes at the streaming bandwidth)."""
    holder = nn.Module()
    holder.weight = nn.Parameter(torch.ones(OPTIMIZER_PROBE_ELEMENTS, device=device))
    opt = setup.make_optimizer(holder, TrainConfig(optimizer=optimizer, momentum=momentum))
    holder.weight.grad = torch.full_like(holder.weight, 1e-3)
    best = min(_best(opt.step, device, reps))
    return best / (OPTIMIZER_PROBE_ELEMENTS * 4)


class Interrupted(Exception):
    """The calibration gave way (a training run started)."""


# The calibration is measured this many times and each figure's median kept:
# the host's speed swings (one pass in a fresh process timed convolutions at
# 84 GMAC/s, the three after it at 160-173)
PASSES = 3


def measure(device: torch.device, precision: str = "fp32", channels_last: bool = False,
            scale: float = 1.0, reps: int = 5,
            should_stop: Callable[[], bool] | None = None, passes: int = PASSES) -> Calibration:
    """Measure the throughputs now (scale < 1 shrinks the problems, for tests);
    raises Interrupted as soon as should_stop() says so. Each figure is the
    best of reps runs (other processes only ever slow a run down), and its
    median over passes. Memory is handled as while training
    (allocator.keep_freed_memory)."""
    with allocator.keep_freed_memory():
        return median_of([_measure(device, precision, channels_last, scale, reps, should_stop)
                          for _ in range(max(1, passes))])


def _measure(device: torch.device, precision: str, channels_last: bool, scale: float,
             reps: int, should_stop: Callable[[], bool] | None) -> Calibration:
    big = device.type == "cuda"
    if device.type == "cpu" and precision in ("bf16", "fp16") and not setup.cpu_has_fast_bf16():
        scale /= 4   # emulated low precision runs ~10x slower: keep the calibration short
    b = max(1, int((64 if big else 8) * scale))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    spreads: list[float] = []

    def prepared(module: nn.Module, x: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
        if should_stop is not None and should_stop():
            raise Interrupted()
        if x.dim() == 4:
            return module.to(memory_format=fmt), x.contiguous(memory_format=fmt)
        return module, x

    def ratio(slow: tuple[nn.Module, torch.Tensor], fast: tuple[nn.Module, torch.Tensor]
              ) -> float:
        """How many times slower the first (module, input) runs than the second."""
        return _time_ratio((_train_run(*prepared(*slow), device, precision),
                            _train_run(*prepared(*fast), device, precision)), device, reps)

    def seconds(module: nn.Module, x: torch.Tensor) -> float:
        module, x = prepared(module, x)
        times = _time_train(module, x, device, precision, reps)
        best = min(times)
        spreads.append((statistics.median(times) - best) / best if best > 0 else 0.0)
        return max(best, 1e-9)

    side = 32
    conv = nn.Conv2d(64, 64, 3, padding=1, bias=False)
    conv_rate = 3 * b * 64 * 64 * 9 * side * side / seconds(conv, torch.randn(b, 64, side, side))
    # a convolution with a short reduction (C_in·k·k = 72) runs far below peak
    small = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    small_rate = 3 * 4 * b * 16 * 8 * 9 * side * side / seconds(
        small, torch.randn(4 * b, 8, side, side))
    # ... and so does one with few output channels (GEMM's N = 8)
    narrow_rate = 3 * b * 8 * 64 * 9 * side * side / seconds(
        nn.Conv2d(64, 8, 3, padding=1, bias=False), torch.randn(b, 64, side, side))
    # ... and so does one over few output positions (GEMM's M: 2 images of
    # 7x7, as ResNet's last stage at a small batch); its fixed cost comes off below
    few_seconds = seconds(nn.Conv2d(FEW_K // 9, FEW_N, 3, padding=1, bias=False),
                          torch.randn(FEW_M // 49, FEW_K // 9, 7, 7))
    # ... and the same over 16x as many (bf16 kernels on AMX still run at
    # half their peak there; fp32 ones near it): the positions term's shape
    mid_m = max(49, int(MID_M * scale) // 49 * 49)
    mid_seconds = seconds(nn.Conv2d(FEW_K // 9, FEW_N, 3, padding=1, bias=False),
                          torch.randn(mid_m // 49, FEW_K // 9, 7, 7))
    # dilation takes slower kernels: the same convolution with dilation 4 (the
    # middle of the usual 2-8: ~1.1x, 1.05x and 0.95x on 32-64 channels here)
    # and without, timed alternately (a ratio of two noisy figures)
    x_dil = torch.randn(2 * b, 64, side, side)
    dilated_factor = ratio((nn.Conv2d(64, 64, 3, padding=4, dilation=4, bias=False), x_dil),
                           (nn.Conv2d(64, 64, 3, padding=1, bias=False), x_dil))
    dw = nn.Conv2d(128, 128, 3, padding=1, groups=128, bias=False)
    dw_rate = 3 * b * 128 * 9 * side * side / seconds(dw, torch.randn(b, 128, side, side))
    # ... and one with stride 2, per output element: other depthwise
    # convolutions take other kernels; its fixed cost comes off below
    dw_other = seconds(nn.Conv2d(128, 128, 3, stride=2, padding=1, groups=128, bias=False),
                       torch.randn(b, 128, side, side))
    n = max(16, int((1024 if big else 256) * scale))
    gemm_rate = 3 * n * 1024 * 1024 / seconds(nn.Linear(1024, 1024, bias=False),
                                              torch.randn(n, 1024))
    # BatchNorm + ReLU on maps larger than the caches (as in real networks),
    # counted with plan_time.TRAFFIC's elements per input and output element
    eb = 4 * b
    elems = eb * 64 * side * side
    itemsize = 2 if precision in ("bf16", "fp16") else 4
    ew = nn.Sequential(nn.BatchNorm2d(64), nn.ReLU())
    traffic = sum(sum(TRAFFIC[t][:2]) for t in ("BatchNorm2d", "ReLU")) * elems * itemsize
    bytes_rate = traffic / seconds(ew, torch.randn(eb, 64, side, side))
    map_bytes = 2 * elems * itemsize
    # maps an eighth as large: mostly in the caches
    small_b = max(1, eb // 8)
    small_elems = small_b * 64 * side * side
    cached_rate = traffic * small_elems / elems / seconds(
        ew.train(), torch.randn(small_b, 64, side, side))
    # the same on maps 3x larger (24 MB a tensor in fp32: main memory, but
    # below glibc's mmap threshold, so no fresh pages)
    lt_b = 3 * eb
    large_train_rate = traffic * lt_b / eb / seconds(ew.train(), torch.randn(lt_b, 64, side, side))
    # the same forward alone (as evaluation runs it) on maps 8x larger: main memory
    large = 8 * elems
    large_rate = 4 * large * itemsize / _forward_seconds(
        ew.eval(), torch.randn(8 * eb, 64, side, side).contiguous(memory_format=fmt), device,
        precision, reps, should_stop)
    # plain streaming (the optimizer) over tensors 32x the middle maps: 256 MB
    # in fp32 at full scale, beyond the last-level cache (8x, 64 MB, streamed
    # at 58 GB/s from a 480 MB L3 here; VGG-11's optimizer runs at ~20)
    huge = 4 * large
    sx, sy = torch.ones(huge, device=device), torch.ones(huge, device=device)
    stream_rate = 3 * huge * 4 / max(min(_best(lambda: sx.add_(sy, alpha=1e-3), device, reps)),
                                     1e-9)
    del sx, sy
    # the same into freshly mapped memory: the first touch of fresh pages
    # (an mmap of its own: torch.add's new output could come from the free
    # memory that allocator.keep_freed_memory keeps, and fault nothing).
    # While a run holds memory with glibc, no block is mapped: none.
    fresh_per_byte = 0.0
    if device.type == "cpu" and not allocator.holding():
        x, y = torch.randn(large), torch.randn(large)
        fresh = min(_best(lambda: _add_into_fresh_pages(x, y), device, reps))
        fresh_per_byte = max(0.0, fresh - 3 * large * 4 / stream_rate) / (large * 4)
        del x, y
    # fixed costs: a memory-bound layer (a chain of tiny activations), and
    # chains of convolutions (3x3, 1x1) and matrix products on problems too
    # small to compute anything (oneDNN's set-up of a spatial convolution's
    # three kernels costs ~5x a 1x1 convolution's; a batch of one takes a
    # cheaper path, so two images); then a whole step (data
    # path, loss, zero_grad, optimizer) beyond its layers
    overhead = _per_layer(nn.ReLU, (16, 8, 8, 8), 20, fmt, device, precision, reps,
                          should_stop)
    conv_overhead = max(overhead, _per_layer(lambda: nn.Conv2d(8, 8, 3, padding=1),
                                             (2, 8, 4, 4), 10, fmt, device, precision, reps,
                                             should_stop))
    pointwise = max(overhead, _per_layer(lambda: nn.Conv2d(8, 8, 1), (2, 8, 4, 4), 10, fmt,
                                         device, precision, reps, should_stop))
    linear = max(overhead, _per_layer(lambda: nn.Linear(8, 8), (2, 8), 10, fmt, device,
                                      precision, reps, should_stop))
    norm_fixed = max(overhead, _per_layer(lambda: nn.BatchNorm2d(8), (16, 8, 8, 8), 10, fmt,
                                          device, precision, reps, should_stop))
    pool_fixed = max(overhead, _per_layer(lambda: nn.MaxPool2d(1), (16, 8, 8, 8), 10, fmt,
                                          device, precision, reps, should_stop))
    few_rate = 3 * FEW_M * FEW_K * FEW_N / max(few_seconds - conv_overhead, few_seconds / 2)
    mid_rate = 3 * mid_m * FEW_K * FEW_N / max(mid_seconds - conv_overhead, mid_seconds / 2) \
        if mid_m == MID_M else 0.0
    # a 1x1 convolution against what the model gives a 3x3 of its channels
    pw_seconds = seconds(nn.Conv2d(POINTWISE_C, POINTWISE_C, 1, bias=False),
                         torch.randn(POINTWISE_M // 1024, POINTWISE_C, 32, 32))
    fit = Calibration("fit", conv_rate, 1.0, 1.0, 1.0, 0.0, small_conv_macs_per_s=small_rate,
                      narrow_conv_macs_per_s=narrow_rate, few_positions_conv_macs_per_s=few_rate,
                      mid_positions_conv_macs_per_s=mid_rate, probe_positions=b * side * side)

    def pointwise_factor_of(channels: int, taken: float) -> float:
        planned = 3 * POINTWISE_M * channels ** 2 * fit.conv_seconds_per_mac(
            9 * channels, channels, POINTWISE_M)
        return max(taken - pointwise, taken / 2) / planned
    pointwise_factor = pointwise_factor_of(POINTWISE_C, pw_seconds)
    # ... and on few channels, where 1x1 convolutions run further below it
    small_pointwise = pointwise_factor_of(SMALL_POINTWISE_C, seconds(
        nn.Conv2d(SMALL_POINTWISE_C, SMALL_POINTWISE_C, 1, bias=False),
        torch.randn(POINTWISE_M // 1024, SMALL_POINTWISE_C, 32, 32)))
    dw_other = max(dw_other - conv_overhead, dw_other / 2) / (b * 128 * (side // 2) ** 2)
    augment = _data_seconds_per_element(device, channels_last, reps, True)
    normalise = _data_seconds_per_element(device, False, reps, False)
    # channels_last kernels work on vectors of channels: pooling on half a
    # vector (scalar code) against a whole one, and a convolution from
    # lanes - 2 channels (a slower kernel besides the padding) against lanes
    scalar = unaligned = norm_block = norm_tail = 0.0
    lanes = vector_lanes(device) if channels_last else 0
    # max pooling (with its int64 indices) against what its TRAFFIC at the
    # measured bandwidth predicts, on 16 channels (whole vectors)
    def pool_seconds(x: torch.Tensor, window: int) -> float:
        """Max pooling's time over x by its TRAFFIC at the measured bandwidth."""
        t_in, t_out = TRAFFIC["MaxPool2d"][:2]
        pool_bytes = (t_in + t_out / window) * x.numel() * itemsize
        return pool_bytes / _interpolated_rate((1 + 1 / window) * x.numel() * itemsize, map_bytes,
                                               bytes_rate, 2 * small_elems * itemsize, cached_rate)
    pool = nn.MaxPool2d(2)
    px = torch.randn(2 * b, 16, side, side)
    pool_factor = max(1.0, seconds(pool, px) / pool_seconds(px, 4))
    if lanes > 1:
        unaligned = max(1.0, ratio((nn.Conv2d(lanes - 2, 16, 3, padding=1),
                                    torch.randn(b, lanes - 2, side, side)),
                                   (nn.Conv2d(lanes, 16, 3, padding=1),
                                    torch.randn(b, lanes, side, side))))
        scalar = max(1.0, ratio((pool, torch.randn(8 * b, lanes // 2, side, side)),
                                (nn.MaxPool2d(2), torch.randn(4 * b, lanes, side, side))))
        # batch norm's blocks are two vectors: 3 vectors of channels leave one
        # over; per element against 4 (r = (2 + f) / 3 of the aligned cost)
        odd_even = ratio((nn.BatchNorm2d(3 * lanes), torch.randn(4 * b, 3 * lanes, side, side)),
                         (nn.BatchNorm2d(4 * lanes), torch.randn(3 * b, 4 * lanes, side, side)))
        norm_block = max(1.0, 3 * odd_even - 2)
        # the channels short of a whole vector: 1.5 vectors against 2, so
        # r = (norm_block + tail / 2) / 1.5
        half = lanes + lanes // 2
        short = ratio((nn.BatchNorm2d(half), torch.randn(4 * b, half, side, side)),
                      (nn.BatchNorm2d(2 * lanes), torch.randn(3 * b, 2 * lanes, side, side)))
        norm_tail = max(1.0, 2 * (1.5 * short - norm_block))
    # a 3-D convolution in the contiguous format (the trainer's for 3-D
    # inputs) reorders its maps to oneDNN's blocked layout and back: its time
    # beyond the same convolution in channels_last_3d, per map element; and
    # 3-D max pooling (contiguous) per input element
    reorder = pool3d = pool3d_eval = 0.0
    if device.type == "cpu" and not channels_last:
        # (timed alternately: one after the other, the host's drift read as
        # the difference gave 2-10 ns per element across calibrations)
        x3 = torch.randn(max(1, b // 4), 16, 8, 16, 16)
        plain3, blocked = _time_alternately((
            _train_run(nn.Conv3d(16, 16, 3, padding=1, bias=False), x3, device, precision),
            _train_run(nn.Conv3d(16, 16, 3, padding=1, bias=False).to(
                memory_format=torch.channels_last_3d),
                x3.contiguous(memory_format=torch.channels_last_3d), device, precision)),
            device, reps)
        reorder = max(0.0, plain3 - blocked) / (2 * x3.numel())
        x3 = torch.randn(max(1, b // 2), 16, 8, side, side)
        pool3d = seconds(nn.MaxPool3d(2), x3) / x3.numel()
        pool3d_eval = _forward_seconds(nn.MaxPool3d(2), x3, device, precision, reps,
                                       should_stop) / x3.numel()
    r = torch.empty(2 ** 20, device=device)
    random = min(_best(lambda: r.bernoulli_(0.5), device, reps)) / r.numel()
    del r
    # the step's net is Flatten + Linear on the images: less its two layers
    # (a first layer computes two of its three products)
    layers = overhead + linear * 2 / 3
    step = _step_overhead(device, precision, channels_last, 2 * reps, "sgd") - layers
    # Adam's step runs a dozen more kernels per parameter group
    adam = _step_overhead(device, precision, channels_last, 2 * reps, "adam") - layers
    sgd_tensor = _optimizer_tensor_seconds(device, "sgd", 2 * reps)
    adam_tensor = _optimizer_tensor_seconds(device, "adam", 2 * reps)
    # each optimizer's streaming over a large parameter (on a CPU; 0 elsewhere:
    # OPTIMIZER_PASSES at the streaming bandwidth)
    byte_seconds = {name: _optimizer_byte_seconds(device, opt, momentum, reps)
                    if device.type == "cpu" and scale >= 1 else 0.0
                    for name, (opt, momentum) in OPTIMIZER_SETTINGS.items()}
    return Calibration(device_label(device), conv_rate, dw_rate, gemm_rate, bytes_rate,
                       overhead, min(0.5, statistics.median(spreads)) if spreads else 0.0,
                       small_rate, max(0.0, step), max(1.0, dilated_factor), conv_overhead,
                       map_bytes, min(bytes_rate, large_rate), 2 * large * itemsize,
                       max(bytes_rate, cached_rate), 2 * small_elems * itemsize,
                       max(0.0, adam - step), stream_rate, fresh_per_byte, pointwise, linear,
                       augment, normalise, random, lanes, scalar, unaligned, reorder,
                       narrow_rate, pool_factor, large_train_rate, 3 * map_bytes,
                       norm_fixed, pool_fixed, norm_block, sgd_tensor, adam_tensor, norm_tail,
                       few_rate, pointwise_factor, dw_other, mid_rate, b * side * side,
                       pool3d_seconds_per_element=pool3d,
                       pool3d_eval_seconds_per_element=pool3d_eval,
                       small_pointwise_factor=small_pointwise,
                       sgd_seconds_per_byte=byte_seconds["sgd"],
                       momentum_seconds_per_byte=byte_seconds["sgd-momentum"],
                       adam_seconds_per_byte=byte_seconds["adam"],
                       adamw_seconds_per_byte=byte_seconds["adamw"])


def _add_into_fresh_pages(x: torch.Tensor, y: torch.Tensor) -> None:
    """x + a*y written into a new anonymous mapping of the system's."""
    size = x.numel() * x.element_size()
    # private, as malloc's: a shared mapping's pages fault 1.5x slower here
    pages = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS) \
        if hasattr(mmap, "MAP_PRIVATE") else mmap.mmap(-1, size)
    out = torch.frombuffer(pages, dtype=x.dtype)
    torch.add(x, y, alpha=1e-3, out=out)
    del out
    pages.close()


def _interpolated_rate(size: float, middle: float, middle_rate: float, small: float,
                       small_rate: float) -> float:
    """Bytes per second for maps of size bytes, as Calibration.seconds_per_byte
    interpolates between the small and middle maps' measured rates."""
    rate = max(small_rate, middle_rate)
    if size <= small:
        return rate
    if size >= middle:
        return middle_rate
    f = math.log(size / small) / math.log(middle / small)
    return 1 / (1 / rate + f * (1 / middle_rate - 1 / rate))


def vector_lanes(device: torch.device) -> int:
    """fp32 elements per vector register: oneDNN blocks channels by this."""
    if device.type != "cpu":
        return 0
    capability = torch.backends.cpu.get_cpu_capability()
    return 16 if capability.startswith("AVX512") else 8 if capability == "AVX2" else 0


def _per_layer(make: Callable[[], nn.Module], shape: tuple[int, ...], n: int,
               fmt: torch.memory_format, device: torch.device, precision: str, reps: int,
               should_stop: Callable[[], bool] | None) -> float:
    """Seconds per layer of a chain of n layers, forward + backward."""
    if should_stop is not None and should_stop():
        raise Interrupted()
    chain = nn.Sequential(*[make() for _ in range(n)])
    x = torch.randn(*shape)
    if x.dim() == 4:
        chain = chain.to(memory_format=fmt)
        x = x.contiguous(memory_format=fmt)
    return min(_time_train(chain, x, device, precision, 2 * reps)) / n


def _data_seconds_per_element(device: torch.device, channels_last: bool, reps: int,
                              augment: bool) -> float:
    """The trainer's data path per input element: gather the uint8 batch, then
    crop, flip and normalise CIFAR-sized images (augment), or normalise 1-D
    signals; from batches of 16 and 128 (their difference: no fixed costs)."""
    shape = (3, 32, 32) if augment else (3, 1024)
    norm = Normaliser([0.5] * 3, [0.25] * 3, device, channels_last)
    generator = torch.Generator().manual_seed(0)
    pool = torch.randint(0, 256, (256, *shape), dtype=torch.uint8, device=device)

    def at(batch: int) -> float:
        def run() -> None:
            images = pool[torch.randperm(len(pool), generator=generator)[:batch].to(device)]
            norm(augment_batch(images, True, True, generator) if augment else images)
        return min(_best(run, device, reps))
    return max(0.0, (at(128) - at(16)) / (112 * 3 * 1024))


def _forward_seconds(module: nn.Module, x: torch.Tensor, device: torch.device, precision: str,
                     reps: int, should_stop: Callable[[], bool] | None) -> float:
    if should_stop is not None and should_stop():
        raise Interrupted()
    module.to(device)
    x = as_activation(x.to(device), precision)

    def run() -> None:
        with torch.no_grad(), setup.autocast(device, precision):
            module(x)
    return max(min(_best(run, device, reps)), 1e-9)


def _step_overhead(device: torch.device, precision: str, channels_last: bool,
                   reps: int, optimizer: str) -> float:
    """A whole training step of a two-layer net, as the trainer takes it:
    gather, crop and flip the uint8 batch, normalise, forward, loss, backward,
    the optimizer's step (its parameter groups as the trainer makes them),
    running sums."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10)).to(device)
    opt = setup.make_optimizer(model, TrainConfig(optimizer=optimizer))
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8, device=device)
    y = torch.randint(0, 10, (2,), device=device)
    order = torch.randperm(4).to(device)
    norm = Normaliser([0.5] * 3, [0.25] * 3, device, channels_last)
    generator = torch.Generator().manual_seed(0)
    sums = {"loss": torch.zeros((), device=device), "correct": torch.zeros((), device=device)}

    def run() -> None:
        x = norm(augment_batch(images[order[:2]], True, True, generator))
        with setup.autocast(device, precision):
            out = model(x)
        loss = nn.functional.cross_entropy(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sums["loss"] += loss.detach() * len(y)
        sums["correct"] += (out.argmax(dim=1) == y).sum()
        loss.item()
    return min(_best(run, device, reps))


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def cached(device: torch.device, precision: str = "fp32", channels_last: bool = False,
           cache_dir: Path | None = None,
           measure_fn: Callable[..., Calibration] | None = None,
           should_stop: Callable[[], bool] | None = None) -> Calibration:
    """The calibration for this device from the cache, measured (and stored) if absent."""
    path = (cache_dir or default_cache_dir()) / CACHE_NAME
    key = device_key(device, precision, channels_last)
    data: dict = {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
        return Calibration.from_dict(data[key])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    cal = (measure_fn or measure)(device, precision, channels_last, should_stop=should_stop)
    data[key] = cal.to_dict()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass   # an unwritable cache only means measuring again next time
    return cal
