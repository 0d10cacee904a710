"""Step and epoch time from the design's MACs and a calibration of the device.

The calibration (designer/nn/calibrate.py, measured once per device, thread
count and precision) gives training throughputs: multiply-accumulates per
second for dense convolutions, depthwise convolutions and matrix products
(forward plus both backward products), bytes per second for the memory-bound
layers (normalisation, activations, pooling), and a fixed cost per layer.
Pure Python: it runs with the memory plan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from designer.core.analysis import Analysis
from designer.core.model import INPUT_ID, Design

# The calibration measures single layers; a whole network adds work between
# them (data preparation, the loss, cache misses). This much spread around
# the estimate is what the benchmark saw (tests/benchmarks/memory_plan.py).
RELATIVE_UNCERTAINTY = 0.3
BIG_K, SMALL_K = 576, 72       # reductions of the two calibration convolutions
# Whole networks ran 1.3-2.9x slower than the sum of their layers at the
# calibrated rates (CPU time, every sample, batch 64, 1 thread): smaller and
# oddly shaped layers, the loss, data movement between layers. The middle of
# that range; RELATIVE_UNCERTAINTY says how far off it can be.
NETWORK_FACTOR = 1.5


@dataclass(frozen=True)
class Calibration:
    device: str                  # e.g. "cpu: Intel Xeon ... (2 threads)"
    conv_macs_per_s: float       # dense convolution, training (3 products per MAC)
    depthwise_macs_per_s: float
    gemm_macs_per_s: float
    bytes_per_s: float           # memory-bound layers, forward + backward
    layer_overhead_s: float      # fixed cost of one layer's forward + backward
    spread: float = 0.0          # relative spread of the repeated measurements
    small_conv_macs_per_s: float = 0.0   # a convolution with C_in·k·k = 72 (0: unknown)
    step_overhead_s: float = 0.0         # a step's fixed cost beyond its layers

    def conv_seconds_per_mac(self, reduction: int) -> float:
        """Time per MAC as a + b/K for a reduction of K = C_in/groups·k_h·k_w,
        fitted through the two measured convolutions (K = 576 and K = 72)."""
        big = 1 / self.conv_macs_per_s
        if self.small_conv_macs_per_s <= 0:
            return big
        small = 1 / self.small_conv_macs_per_s
        b = max(0.0, (small - big) / (1 / SMALL_K - 1 / BIG_K))
        a = max(0.0, big - b / BIG_K)
        return a + b / max(1, reduction)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        fields = cls.__dataclass_fields__
        values = {k: data[k] for k in fields if k in data}
        for k in fields:
            if k == "device":
                continue
            v = values.get(k)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                if k == "spread":
                    values[k] = 0.0
                    continue
                raise ValueError(f"calibration value {k} is missing or invalid")
        return cls(**values)


@dataclass(frozen=True)
class TimeEstimate:
    step_s: float
    epoch_s: float
    steps_per_epoch: int
    uncertainty: float           # relative, e.g. 0.3 for ±30%

    @property
    def epoch_range(self) -> tuple[float, float]:
        u = self.uncertainty
        return self.epoch_s * (1 - u), self.epoch_s * (1 + u)


def _layer_seconds(info: Any, batch: int, itemsize: int, cal: Calibration,
                   first: bool) -> float:
    macs = info.macs * batch
    if info.type.startswith("Conv"):
        groups = int(info.resolved.get("groups", 1) or 1)
        work = macs * (2 / 3 if first else 1)      # no input gradient for the first layer
        shape = info.input_shapes[0] if info.input_shapes else None
        channels = shape[0] if shape else 1
        if groups > 1 and groups == channels:
            return work / cal.depthwise_macs_per_s + cal.layer_overhead_s
        k = info.resolved.get("kernel_size", 1)
        kk = k[0] * k[1] if isinstance(k, (list, tuple)) else int(k) ** (len(shape or (0, 0, 0)) - 1)
        return work * cal.conv_seconds_per_mac(channels // groups * kk) + cal.layer_overhead_s
    if info.type == "Linear":
        return macs * (2 / 3 if first else 1) / cal.gemm_macs_per_s + cal.layer_overhead_s
    numel = 0
    for shape in info.input_shapes:
        n = 1
        for d in shape or ():
            n *= d
        numel += n
    out = 1
    for d in info.output_shape or ():
        out *= d
    moved = (numel + out) * batch * itemsize * 2.5   # forward read + write, backward ~1.5x
    return moved / cal.bytes_per_s + cal.layer_overhead_s


def estimate(design: Design, analysis: Analysis, cal: Calibration, batch: int, train_images: int,
             eval_images: int, precision: str = "fp32", optimizer: str = "sgd",
             param_bytes: int = 0) -> TimeEstimate:
    """Time of one training step and of one epoch (training plus evaluating
    eval_images once), with its relative uncertainty."""
    itemsize = 2 if precision in ("bf16", "fp16") else 4
    first_layers = {lay.id for lay in design.layers if INPUT_ID in lay.inputs}
    step = 0.0
    for lid in analysis.order:
        info = analysis.layers[lid]
        step += _layer_seconds(info, batch, itemsize, cal, lid in first_layers)
    step *= NETWORK_FACTOR
    passes = 7 if optimizer in ("adam", "adamw") else 5    # tensors read/written per element
    step += param_bytes * passes / cal.bytes_per_s + cal.step_overhead_s
    steps = max(1, train_images // max(1, batch))
    # evaluation runs the forward pass only: about a third of a training step
    layers = step - param_bytes * passes / cal.bytes_per_s - cal.step_overhead_s
    forward_per_image = layers / 3 / max(1, batch)
    epoch = steps * step + eval_images * forward_per_image
    return TimeEstimate(step, epoch, steps, RELATIVE_UNCERTAINTY + cal.spread)


def format_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 90:
        return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
