"""A device's calibration (designer/nn/calibrate.py measures it) as the time
model (designer/core/plan_time.py) reads it: throughputs, bandwidths, fixed
costs and factors, each field's meaning beside it. Pure Python."""
from __future__ import annotations

import math
import statistics
from dataclasses import MISSING, dataclass
from typing import Any

from designer.core.conv_fit import BIG_N, conv_fit, seconds_per_mac

@dataclass(frozen=True)
class Calibration:
    device: str                  # e.g. "CPU (2 threads)"
    conv_macs_per_s: float       # dense convolution, training MACs (3 per forward MAC)
    depthwise_macs_per_s: float
    gemm_macs_per_s: float
    bytes_per_s: float           # memory-bound layers, forward + backward
    layer_overhead_s: float      # fixed cost of one layer's forward + backward
    spread: float = 0.0          # relative spread of the repeated measurements
    small_conv_macs_per_s: float = 0.0   # a convolution with C_in·k·k = 72 (0: unknown)
    step_overhead_s: float = 0.0         # a step's fixed cost beyond its layers
    dilated_factor: float = 1.0          # a dilated convolution's time / an undilated one's
    conv_overhead_s: float = 0.0         # fixed cost of a convolution or Linear (0: as a layer)
    # bandwidth falls as maps outgrow the caches: bytes_per_s was measured on
    # maps of map_bytes, small_ and large_bytes_per_s on smaller and larger
    # ones (0: unknown)
    map_bytes: float = 0.0
    large_bytes_per_s: float = 0.0
    large_map_bytes: float = 0.0
    small_bytes_per_s: float = 0.0
    small_map_bytes: float = 0.0
    adam_step_extra_s: float = 0.0       # Adam's/AdamW's fixed step cost beyond SGD's
    # plain streaming (x += a*y) over tensors far larger than the caches, as the
    # optimizer's kernels and a large weight's passes run (0: unknown)
    stream_bytes_per_s: float = 0.0
    # allocating and first touching memory the allocator gets fresh from the
    # system (tensors above MMAP_THRESHOLD), per byte (0: unknown)
    fresh_seconds_per_byte: float = 0.0
    # fixed costs measured on problems too small to compute anything:
    # conv_overhead_s is a spatial or grouped convolution's (oneDNN sets up
    # three kernels: ~5x a 1x1 convolution's), pointwise_overhead_s a dense 1x1
    # convolution's, linear_overhead_s a matrix product's (0: conv_overhead_s)
    pointwise_overhead_s: float = 0.0
    linear_overhead_s: float = 0.0
    # the trainer's data path per input element: gather, crop and flip,
    # normalise, reorder (images), or gather and normalise (other inputs)
    # (0: DATA_BYTES_PER_ELEMENT at bytes_per_s)
    augment_seconds_per_element: float = 0.0
    normalise_seconds_per_element: float = 0.0
    # drawing one random number (Dropout's mask is drawn element by element)
    random_seconds_per_element: float = 0.0
    # a CPU's vector width in elements: its convolution kernels work on
    # channels in blocks of this, so 6 channels cost what 8 do on AVX2 (0: none)
    lanes: int = 0
    # channels_last pooling and normalisation kernels run the channels short
    # of a whole vector in scalar code: this many times slower (0: no penalty)
    scalar_factor: float = 0.0
    # a convolution whose input channels are not whole vectors takes a slower
    # kernel, besides the padding: this many times slower (0: not measured)
    unaligned_factor: float = 0.0
    # a 3-D convolution in the contiguous format reorders its maps to the
    # blocked layout and back, forward + backward: per input and output
    # element (0: none; measured ~16 ns at 16-64 channels, one thread)
    reorder_seconds_per_element: float = 0.0
    # a convolution with few output channels (GEMM's N) runs below peak: one
    # with K = 576 and 8 output channels, training MACs per second (0: unknown)
    narrow_conv_macs_per_s: float = 0.0
    # pooling's time against what TRAFFIC at the measured bandwidth predicts
    # (max pooling with its int64 indices, on a whole vector of channels) (0: 1)
    pool_factor: float = 0.0

    # the training pass (batch norm + ReLU, forward + backward) on maps 3x
    # the middle ones, each tensor still below MMAP_THRESHOLD: main memory's
    # bandwidth without fresh pages, which large_bytes_per_s (evaluation's
    # forward on 128 MB tensors) includes (0: unknown)
    large_train_bytes_per_s: float = 0.0
    large_train_map_bytes: float = 0.0
    # fixed costs of a batch norm (its statistics, normalisation and two
    # backward passes are separate kernels: ~5-10x an activation's) and of a
    # pooling layer, forward + backward (0: layer_overhead_s)
    norm_overhead_s: float = 0.0
    pool_overhead_s: float = 0.0
    # channels_last batch norm works on channels in blocks of two vectors:
    # the channels left over run this many times slower per element,
    # measured on 3 vectors of channels against 4 (0: no penalty)
    norm_block_factor: float = 0.0
    # the optimizer step per parameter tensor (the CPU steps them one by one):
    # SGD with momentum and Adam, beyond the two of step_overhead_s' net (0: none)
    sgd_tensor_s: float = 0.0
    adam_tensor_s: float = 0.0
    # ... and its channels short of a whole vector (8 of 24 on AVX-512) run
    # scalar code: this many times slower, measured on 1.5 vectors of
    # channels against 2 (0: as norm_block_factor)
    norm_tail_factor: float = 0.0
    # a convolution over few output positions (FEW_M: ResNet's last stage at
    # a small batch) runs far below peak: training MACs per second of the
    # FEW_K, FEW_N one, its fixed cost taken off (0: unknown)
    few_positions_conv_macs_per_s: float = 0.0
    # a dense 2-D 1x1 convolution is one GEMM whose reduction is C_in, as a
    # 3x3's is per tap: it costs what a 3x3 with its channels and positions
    # costs per MAC, times this (measured on POINTWISE_C channels; 0: 1)
    pointwise_factor: float = 0.0
    # a depthwise convolution other than 3x3 with stride 1 takes other
    # kernels (bf16 on a CPU: a reference path 4-15x slower than fp32): at
    # least this per output element, forward + backward, timed on 3x3 with
    # stride 2 (0: its MACs at depthwise_macs_per_s alone)
    depthwise_other_seconds_per_output: float = 0.0
    # ... and over MID_M positions: with the few-positions one it gives the
    # positions term's power (conv_fit; 0: unknown, d/M); probe_positions is
    # the M of the (576, 64) and (576, 8) probes (0: taken as many)
    mid_positions_conv_macs_per_s: float = 0.0
    probe_positions: float = 0.0
    # 3-D max pooling (contiguous) computes more than it moves: at least
    # this per input element, forward + backward, and evaluation's forward
    # (0: its TRAFFIC alone)
    pool3d_seconds_per_element: float = 0.0
    pool3d_eval_seconds_per_element: float = 0.0
    # pointwise_factor measured on SMALL_POINTWISE_C channels: 1x1
    # convolutions on few channels run further below the model (fp32 here:
    # 0.5-0.75 of their time at 16-64 channels, 0.8 at 96, 1.0 at 232);
    # interpolated on a log scale of the geometric mean of C_in and C_out
    # (0: pointwise_factor at any width)
    small_pointwise_factor: float = 0.0
    # each optimizer's step per parameter byte over a parameter far larger
    # than the caches (64 MB), as the trainer makes it (0: OPTIMIZER_PASSES
    # at the streaming bandwidth); used once the parameters outgrow map_bytes
    sgd_seconds_per_byte: float = 0.0
    momentum_seconds_per_byte: float = 0.0
    adam_seconds_per_byte: float = 0.0
    adamw_seconds_per_byte: float = 0.0

    def streaming_seconds_per_byte(self, total_bytes: float) -> float:
        """Time per byte for streaming passes over total_bytes of tensors."""
        cached = self.seconds_per_byte(total_bytes)
        if self.stream_bytes_per_s <= 0 or total_bytes <= self.map_bytes:
            return cached
        return min(cached, 1 / self.stream_bytes_per_s)

    def seconds_per_byte(self, map_bytes: float, train: bool = False) -> float:
        """Memory time per byte for a layer whose maps (inputs + output, the
        whole batch) take map_bytes: the measured bandwidths, interpolated on a
        log scale of the map size, constant beyond the smallest and largest.
        Training's large maps: the training pass's bandwidth (fresh pages of
        tensors over MMAP_THRESHOLD are costed apart, fresh_bytes)."""
        points = [(self.map_bytes, 1 / self.bytes_per_s)]
        large = (self.large_map_bytes, self.large_bytes_per_s)
        if train and self.large_train_bytes_per_s > 0:
            large = (self.large_train_map_bytes, self.large_train_bytes_per_s)
        for size, rate in ((self.small_map_bytes, self.small_bytes_per_s), large):
            if size > 0 and rate > 0 and self.map_bytes > 0:
                points.append((size, 1 / rate))
        points.sort()
        if map_bytes <= points[0][0] or len(points) == 1:
            return points[0][1]
        for (s0, t0), (s1, t1) in zip(points, points[1:]):
            if map_bytes <= s1:
                f = math.log(map_bytes / s0) / math.log(s1 / s0) if s1 > s0 else 1.0
                return t0 + f * (t1 - t0)
        return points[-1][1]

    def conv_seconds_per_mac(self, reduction: int, out_channels: int = BIG_N,
                             positions: int = 0) -> float:
        """Time per training MAC of a convolution with a reduction of K =
        C_in/groups·k_h·k_w, N output channels per group and M output
        positions (batch included; 0: many): designer/core/conv_fit.py."""
        fit = conv_fit(self.conv_macs_per_s, self.small_conv_macs_per_s,
                       self.narrow_conv_macs_per_s, self.few_positions_conv_macs_per_s,
                       self.mid_positions_conv_macs_per_s, self.probe_positions)
        return seconds_per_mac(fit, reduction, out_channels, positions)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        fields = cls.__dataclass_fields__
        values = {k: data[k] for k in fields if k in data}
        for k, f in fields.items():
            if k == "device":
                continue
            v = values.get(k)
            if k not in values and f.default is not MISSING:
                continue       # a field added later: its neutral default
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                if k == "spread":
                    values[k] = 0.0
                    continue
                raise ValueError(f"calibration value {k} is missing or invalid")
        return cls(**values)


def median_of(cals: list[Calibration]) -> Calibration:
    """One calibration from several: each figure's median (each is already
    the best of its repetitions; the median keeps a pass that the host
    slowed down, or a lucky one, from deciding)."""
    if len(cals) == 1:
        return cals[0]
    dicts = [c.to_dict() for c in cals]
    data = dict(dicts[0])
    for key, value in dicts[0].items():
        if isinstance(value, (int, float)):
            data[key] = type(value)(statistics.median(d[key] for d in dicts))
    return Calibration.from_dict(data)
