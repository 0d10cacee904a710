"""Pieces of a training run chosen from a TrainConfig: device, precision,
memory format, dataset, optimizer and learning-rate schedule."""
from __future__ import annotations

import contextlib
import math
from typing import Any, ContextManager

import torch
from torch import nn

from designer.core.training_config import TrainConfig
from designer.nn.data import (Dataset, DatasetError, find_cifar10, load_cifar10, synthetic_dataset,
                              synthetic_nd_dataset)

SCHEDULES = ("constant", "step", "cosine", "onecycle", "triangular")
OPTIMIZERS = ("sgd", "adam", "adamw")
SYNTHETIC_TRAIN, SYNTHETIC_TEST = 10000, 2000
SYNTHETIC_ND_BYTES = 256 * 2**20     # default size of a 1-D / 3-D synthetic training set
SYNTHETIC_ND_CLASSES = 10, 2, 24     # default, least, most


class SetupError(ValueError):
    """A setting (kind "settings") or design (kind "design") that cannot be
    trained as asked (plain message)."""

    def __init__(self, message: str, kind: str = "settings") -> None:
        super().__init__(message)
        self.kind = kind


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str) -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SetupError("the device is set to CUDA but no CUDA GPU is available; "
                             "choose cpu or auto")
        return torch.device(name)
    if name == "mps":
        if not mps_available():
            raise SetupError("the device is set to MPS but Apple's Metal backend is not "
                             "available; choose cpu or auto")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise SetupError(f"unknown device '{name}': use auto, cpu, cuda or mps")


# Measured on a 2-core AVX512-BF16 CPU (batch 256, channels_last): bf16 autocast
# gave fast_cifar (118M MACs) 1.9x, resnet_small (12.5M) 1.7x, mobilenet (16.5M)
# 1.6x, LeNet-5 (0.65M) 1.0x and shufflenet (2.1M) 0.9x. With torch 2.13 on a
# 2-core Xeon with AMX, strided and 5x5 depthwise convolutions take a
# reference path in bf16: at batch 128 mobilenet ran 0.83x, mobilenetv3 0.64x
# and shufflenetv2 0.78x fp32's speed (fast_cifar 2.6x, resnet_small 1.8x).
CPU_BF16_MIN_MACS = 5_000_000


def cpu_has_fast_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(name: str, device: torch.device, notes: list[str], macs: int = 0,
                      slow_bf16: list[str] | None = None) -> str:
    """fp32, bf16 or fp16. auto: bf16 (else fp16) on CUDA; on the CPU bf16 for
    nets of at least CPU_BF16_MIN_MACS where the CPU has native bf16, unless
    the net has layers that run far slower in bf16 there (slow_bf16:
    plan_time.slow_in_cpu_bf16); else fp32."""
    name = (name or "auto").lower()
    if name not in ("auto", "fp32", "bf16", "fp16"):
        raise SetupError(f"unknown precision '{name}': use auto, fp32, bf16 or fp16")
    if device.type == "cuda":
        if name == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return name
    if name == "fp16":
        notes.append("fp16 needs a CUDA GPU: training in fp32")
        return "fp32"
    if name == "bf16" and device.type == "mps":
        notes.append("bf16 is not used on MPS: training in fp32")
        return "fp32"
    if name == "auto":
        fast = device.type == "cpu" and macs >= CPU_BF16_MIN_MACS and cpu_has_fast_bf16()
        if fast and slow_bf16:
            notes.append(f"auto precision: fp32, as {len(slow_bf16)} depthwise convolution(s) "
                         f"({', '.join(slow_bf16[:3])}{', ...' if len(slow_bf16) > 3 else ''}) "
                         "run several times slower in bf16 on this CPU")
            return "fp32"
        return "bf16" if fast else "fp32"
    return name


def resolve_channels_last(setting: str, device: torch.device, model: nn.Module,
                          input_rank: int = 3) -> bool:
    """auto: on for convolutional nets on CUDA and on the CPU (measured 1.0-1.4x
    faster on the CPU for every sample), off on MPS and for nets without convolutions.
    Never for 1-D or 3-D inputs (input_rank = dimensions without the batch): the
    format is defined for 4-D tensors."""
    setting = (setting or "auto").lower()
    if input_rank != 3:
        return False
    if setting in ("on", "true", "yes"):
        return True
    if setting in ("off", "false", "no"):
        return False
    has_conv = any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())
    return has_conv and device.type in ("cuda", "cpu")


def autocast(device: torch.device, precision: str) -> ContextManager[Any]:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def is_image_shape(input_shape: tuple[int, ...] | None) -> bool:
    """True for a 2-D input (C x H x W) or an unknown one: the image datasets fit."""
    return input_shape is None or len(tuple(input_shape)) == 3


def synthetic_nd_sizes(config: TrainConfig, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(train, test) sample counts of a 1-D / 3-D synthetic set: the limits when
    set, else as many as fit SYNTHETIC_ND_BYTES (at most the 2-D set's counts)."""
    per = max(1, math.prod(int(v) for v in input_shape))
    train = min(SYNTHETIC_TRAIN, max(200, SYNTHETIC_ND_BYTES // per))
    test = min(SYNTHETIC_TEST, max(50, train // 5))
    return config.train_limit or train, config.test_limit or test


def synthetic_nd_classes(output_shape: tuple[int, ...] | None) -> int:
    """The design's class count when it ends in 2..24 scores, else 10."""
    default, least, most = SYNTHETIC_ND_CLASSES
    if output_shape is not None and len(tuple(output_shape)) == 1 \
            and least <= int(output_shape[0]) <= most:
        return int(output_shape[0])
    return default


def rank_name(input_shape: tuple[int, ...]) -> str:
    return f"{len(tuple(input_shape)) - 1}-D"


def load_dataset(config: TrainConfig, should_stop: Any = None,
                 input_shape: tuple[int, ...] | None = None,
                 output_shape: tuple[int, ...] | None = None,
                 notes: list[str] | None = None) -> Dataset:
    """The dataset a run trains on. A 1-D or 3-D design (input_shape of rank
    other than 2) trains on synthetic data of its shape whatever the setting:
    CIFAR-10 is 2-D; a note says so when the setting asked for CIFAR-10."""
    name = (config.dataset or "cifar10").lower()
    if not is_image_shape(input_shape):
        assert input_shape is not None
        if name not in ("cifar10", "cifar-10", "synthetic"):
            raise DatasetError(f"unknown dataset '{config.dataset}': use cifar10 or synthetic")
        classes = synthetic_nd_classes(output_shape)
        train, test = synthetic_nd_sizes(config, input_shape)
        data = synthetic_nd_dataset(tuple(input_shape), classes, train, test, seed=config.seed)
        if notes is not None and name != "synthetic":
            notes.append(f"CIFAR-10 is 2-D: this {rank_name(input_shape)} design trains on "
                         f"{data.label[0].lower()}{data.label[1:]}")
        return data
    if name == "synthetic":
        data = synthetic_dataset(config.train_limit or SYNTHETIC_TRAIN,
                                 config.test_limit or SYNTHETIC_TEST, seed=config.seed)
    elif name in ("cifar10", "cifar-10"):
        if config.download and find_cifar10(config.data_dir) is None:
            from designer.nn.data_download import download_cifar10
            download_cifar10(config.data_dir, should_stop=should_stop)
        data = _cached_cifar(config.data_dir)
    else:
        raise DatasetError(f"unknown dataset '{config.dataset}': use cifar10 or synthetic")
    return data.limited(config.train_limit, config.test_limit)


_cache: dict[str, Any] = {}


def _cached_cifar(data_dir: str | None) -> Dataset:
    """The last CIFAR-10 loaded in this process (a GUI retrains often)."""
    folder = find_cifar10(data_dir)
    key = None
    if folder is not None:
        key = (str(folder.resolve()), tuple((folder / f).stat().st_mtime_ns
                                            for f in sorted(p.name for p in folder.iterdir())))
        if _cache.get("key") == key:
            return _cache["data"]
    data = load_cifar10(data_dir)
    _cache.clear()
    _cache.update(key=key, data=data)
    return data


NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def param_groups(model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """Parameter groups, each with an "lr_scale" (its share of the peak lr).

    By default weight decay goes on conv/linear weights only (tensors of 2+
    dimensions), as is usual for CNNs; decay_all puts it on every parameter.
    Biases of normalisation layers get norm_bias_lr_scale x the lr (airbench
    uses 64). decoupled_decay divides each group's decay by its peak lr, so the
    decay per step is weight_decay x the schedule's factor whatever the lr."""
    norm_biases = {id(m.bias) for m in model.modules()
                   if isinstance(m, NORM_TYPES) and getattr(m, "bias", None) is not None}
    trainable = [p for p in model.parameters() if p.requires_grad]
    bias_scale = float(config.norm_bias_lr_scale)
    specs = [([p for p in trainable if p.dim() > 1], 1.0, True),
             ([p for p in trainable if p.dim() <= 1 and id(p) not in norm_biases], 1.0,
              bool(config.decay_all)),
             ([p for p in trainable if id(p) in norm_biases], bias_scale,
              bool(config.decay_all))]
    if bias_scale == 1.0:  # one group for every 1-D parameter, as before
        specs = [specs[0], (specs[1][0] + specs[2][0], 1.0, bool(config.decay_all))]
    groups = []
    for params, scale, decays in specs:
        if not params:
            continue
        wd = float(config.weight_decay) if decays else 0.0
        if wd and config.decoupled_decay:
            wd /= float(config.lr) * scale
        groups.append({"params": params, "weight_decay": wd, "lr_scale": scale})
    return groups


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """See param_groups; the trainer sets each group's lr to lr x factor x lr_scale."""
    groups = param_groups(model, config)
    if not groups:
        raise SetupError("the design has no trainable parameters (all layers frozen or "
                         "none with weights)", "design")
    name = (config.optimizer or "sgd").lower()
    lr = float(config.lr)
    if not math.isfinite(lr) or lr <= 0:
        raise SetupError(f"the learning rate must be a positive number (got {config.lr})")
    for g in groups:
        g["lr"] = lr * g["lr_scale"]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=config.momentum,
                               nesterov=bool(config.nesterov and config.momentum > 0))
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise SetupError(f"unknown optimizer '{config.optimizer}': use sgd, adam or adamw")


def lr_factor(step: int, total: int, warmup: int, schedule: str, start: float = 0.2,
              end: float = 0.07) -> float:
    """Multiplier of the peak learning rate for 0-based step of total steps.
    triangular: linear from `start` to 1 at the end of the warm-up (23% of the
    run without one, as airbench), then linear to `end` at the last step."""
    schedule = (schedule or "onecycle").lower()
    if schedule not in SCHEDULES:
        raise SetupError(f"unknown schedule '{schedule}': use {', '.join(SCHEDULES)}")
    total = max(1, total)
    warmup = min(max(0, warmup), total // 2)  # a warm-up never takes more than half the run
    if schedule == "triangular":
        peak = warmup or max(1, int(0.23 * total))
        if step < peak:
            return start + (1.0 - start) * step / peak
        return 1.0 + (end - 1.0) * min(1.0, (step - peak) / max(1, total - 1 - peak))
    if schedule == "onecycle":
        warmup = warmup or max(1, int(0.3 * total))
        if step < warmup:
            return 0.04 + 0.96 * step / warmup   # from lr/25, as torch's OneCycleLR
        return max(0.0, (total - step) / max(1, total - warmup))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def check_design_fits(input_shape: tuple[int, ...], output_shape: tuple[int, ...] | None,
                      data: Dataset) -> None:
    image = tuple(data.image_shape)
    if tuple(input_shape) != image:
        c, h, w = image
        raise SetupError(f"the design's input is {'x'.join(map(str, input_shape))} but "
                         f"{data.label} images are {c}x{h}x{w}: set the input to "
                         f"{c} channels, {h}x{w}", "design")
    if output_shape is None or tuple(output_shape) != (data.num_classes,):
        got = "x".join(map(str, output_shape)) if output_shape else "nothing"
        raise SetupError(f"the design outputs {got} but {data.label} has {data.num_classes} "
                         f"classes: end it with Flatten and Linear(out_features="
                         f"{data.num_classes})", "design")
