"""Refuse a training run whose planned memory (designer/core/planner.py) will
not fit the device, before it starts thrashing: the estimate and the batch
size that would fit, in words."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from designer.core.analysis import analyse
from designer.core.model import Design
from designer.core.plan_report import fmt_bytes, settings_for
from designer.core.plan_time import slow_in_cpu_bf16
from designer.core.planner import Plan, PlanError, plan
from designer.core.training_config import TrainConfig
from designer.nn import train_setup as setup

CIFAR_IMAGES, CIFAR_IMAGE_BYTES = 60000, 3 * 32 * 32


@dataclass
class MemoryCheck:
    plan: Plan
    free: int | None          # bytes free on the device (None: unknown)
    device: str

    @property
    def fits(self) -> bool:
        return self.free is None or self.plan.peak <= self.free

    @property
    def batch_that_fits(self) -> int:
        return 0 if self.free is None else self.plan.max_batch_size(self.free)

    def message(self) -> str:
        p = self.plan
        text = (f"training needs about {fmt_bytes(p.peak)} at batch {p.batch_size} "
                f"but the {self.device} has {fmt_bytes(self.free or 0)} free")
        best = self.batch_that_fits
        if best >= 1:
            return text + f": use a batch size of at most {best}"
        return text + ": even batch 1 does not fit; make the design smaller"


def free_memory(device: torch.device) -> int | None:
    """Free bytes on the device: CUDA's own count, MemAvailable on Linux for the CPU."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
    return None


def dataset_bytes(config: TrainConfig, input_shape: tuple[int, ...] | None = None) -> int:
    """The trainer holds the whole dataset on the device (uint8 images, int64 labels)."""
    if not setup.is_image_shape(input_shape):
        assert input_shape is not None
        train, test = setup.synthetic_nd_sizes(config, input_shape)
        return (train + test) * (math.prod(input_shape) + 8)
    if (config.dataset or "").lower() == "synthetic":
        n = (config.train_limit or setup.SYNTHETIC_TRAIN) + (config.test_limit or setup.SYNTHETIC_TEST)
    else:
        n = min(CIFAR_IMAGES, (config.train_limit or 50000) + (config.test_limit or 10000))
    return n * (CIFAR_IMAGE_BYTES + 8)


def check(design: Design, config: TrainConfig, free: int | None = None) -> MemoryCheck | None:
    """The plan for these settings against the device's free memory; None when
    the design or settings cannot be planned (the trainer reports why)."""
    analysis = analyse(design)
    if not analysis.ok:
        return None
    try:
        device = setup.resolve_device(config.device)
        precision = setup.resolve_precision(config.precision, device, [], analysis.total_macs,
                                            slow_in_cpu_bf16(analysis))
        has_conv = any(i.type.startswith("Conv") for i in analysis.layers.values())
        cl = (config.channels_last or "auto").lower()
        channels_last = setup.is_image_shape(analysis.input_shape) and (
            cl in ("on", "true", "yes") or (
                cl == "auto" and has_conv and device.type in ("cuda", "cpu")))
        # the trainer moves the dataset to a GPU; on the CPU it is loaded either way
        data = dataset_bytes(config, analysis.input_shape) if device.type == "cuda" else 0
        settings = settings_for(config, device.type, precision, channels_last, data)
        p = plan(design, settings, analysis)
    except (setup.SetupError, PlanError, ValueError):
        return None
    if free is None:
        free = free_memory(device)
    label = "GPU" if device.type == "cuda" else ("CPU's memory" if device.type == "cpu"
                                                 else device.type)
    return MemoryCheck(p, free, label)
