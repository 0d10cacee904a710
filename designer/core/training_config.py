"""Training settings: the design file's "training" object, the engine's input,
and the exported train.py's defaults. Pure Python."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable


# Allowed ranges, one place for every entry point (design file, CLI, GUI spin
# boxes, checkpoints). torch.set_num_threads(100000) segfaults; torch seeds and
# Qt spin boxes stop at 2**31 - 1 for the GUI, so files and flags stop there too.
MAX_EPOCHS = 10_000
RANGES: dict[str, tuple[float, float]] = {
    "epochs": (1, MAX_EPOCHS), "batch_size": (1, 65_536), "lr": (1e-6, 1e6),
    "momentum": (0.0, 0.999), "weight_decay": (0.0, 1.0), "warmup_epochs": (0.0, 100.0),
    "label_smoothing": (0.0, 0.99), "cutout": (0, 32), "val_split": (0, 50_000),
    "threads": (1, 512), "seed": (0, 2**31 - 1), "train_limit": (1, 10**8),
    "test_limit": (1, 10**8),
    # fast-training techniques (see designer/nn/recipe.py and docs/user-guide.md)
    "lr_start_factor": (0.0, 1.0), "lr_end_factor": (0.0, 1.0), "crop_pad": (0, 16),
    "average_decay": (0.0, 0.99999), "average_every": (1, 100_000),
    "average_start_epoch": (0.0, float(MAX_EPOCHS)), "norm_bias_lr_scale": (0.001, 1000.0),
    "bn_momentum": (0.001, 1.0), "logit_scale": (0.001, 1000.0), "whiten_bias_epochs": (0.0, float(MAX_EPOCHS)),
}
CHOICES: dict[str, tuple[str, ...]] = {
    "dataset": ("cifar10", "synthetic"), "optimizer": ("sgd", "adam", "adamw"),
    "schedule": ("constant", "step", "cosine", "onecycle", "triangular"),
    "precision": ("auto", "fp32", "bf16", "fp16"), "channels_last": ("auto", "on", "off"),
    "crop_fill": ("zero", "reflect"), "tta": ("off", "mirror", "mirror_translate"),
    "averaging": ("off", "ema", "lookahead"),
}
# Settings whose None means "leave it as the design has it".
OPTIONAL = ("threads", "train_limit", "test_limit", "data_dir", "out_dir", "bn_momentum")
DEVICES = ("auto", "cpu", "cuda", "mps")  # and "cuda:N"


class TrainConfigError(ValueError):
    """A training setting outside its allowed range; the message names both."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(message)


def _number(x: float) -> str:
    if isinstance(x, int):
        return f"{x:,}".replace(",", " ")
    return repr(x) if x.is_integer() and abs(x) < 1e16 else f"{x:g}"


def allowed(name: str) -> str:
    """The allowed values of a setting, in words."""
    if name in RANGES:
        lo, hi = RANGES[name]
        kind = "a whole number" if isinstance(lo, int) else "a number"
        bound = _number if isinstance(lo, int) else "{:g}".format
        return f"{kind} from {bound(lo)} to {bound(hi)}"
    if name in CHOICES:
        return "one of " + ", ".join(CHOICES[name])
    if name == "device":
        return "one of " + ", ".join(DEVICES) + " (or cuda:N)"
    return "a valid value"


def setting_problem(name: str, value: Any) -> str | None:
    """None when `value` is allowed for setting `name`, else "must be ...; got ..."."""
    if value is None and name in OPTIONAL:
        return None
    ok = True
    if name in RANGES:
        lo, hi = RANGES[name]
        whole = isinstance(lo, int)
        ok = (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi) \
            or (not whole and isinstance(value, float) and math.isfinite(value)
                and lo <= value <= hi)
    elif name in CHOICES:
        ok = value in CHOICES[name]
    elif name == "device":
        ok = isinstance(value, str) and (value in DEVICES or (
            value.startswith("cuda:") and value[5:].isdigit()))
    if ok:
        return None
    shown = repr(value) if not isinstance(value, (int, float)) or isinstance(value, bool) \
        else _number(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"must be {allowed(name)}; got {shown}"


def check_training_dict(data: dict[str, Any]) -> tuple[str, str] | None:
    """(key, problem) for the first known setting of a design file's "training"
    object whose value has the right type but is out of range, else None.
    Values of the wrong type are left to from_dict (it uses the default)."""
    for f in fields(TrainConfig):
        if f.name in data:
            ok, value = _coerce(data[f.name], str(f.type))
            if ok:
                problem = setting_problem(f.name, value)
                if problem is not None:
                    return f.name, problem
    return None


@dataclass
class TrainConfig:
    dataset: str = "cifar10"            # "cifar10" or "synthetic"
    data_dir: str | None = None         # None: $CNN_DESIGNER_DATA or the user data dir
    download: bool = False              # fetch CIFAR-10 when absent
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"              # sgd, adam, adamw
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"          # constant, step, cosine, onecycle
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    augment_crop: bool = True
    augment_flip: bool = True
    cutout: int = 0                     # square size in pixels, 0 = off
    val_split: int = 0                  # training images held out for validation
    device: str = "auto"                # auto, cpu, cuda, mps
    precision: str = "auto"             # auto, fp32, bf16, fp16
    channels_last: str = "auto"         # auto, on, off
    threads: int | None = None          # torch intra-op threads; None: leave a core free
    seed: int = 0
    train_limit: int | None = None      # use only the first N training images (quick runs)
    test_limit: int | None = None
    out_dir: str | None = None          # checkpoints and metrics; None: none written
    # Fast-training techniques (airbench-style); the defaults leave them off.
    lr_start_factor: float = 0.2        # triangular schedule: lr/peak at the first step
    lr_end_factor: float = 0.07         # ... and at the last step (peak at warmup_epochs)
    crop_pad: int = 4                   # random translation by up to N pixels (augment_crop)
    crop_fill: str = "zero"             # what the translation shows at the border
    flip_alternate: bool = False        # each image flipped on alternate epochs
    tta: str = "off"                    # final test: off, mirror, mirror_translate
    averaging: str = "off"              # weight averaging: off, ema, lookahead
    average_decay: float = 0.99         # weight of the old average at each update
    average_every: int = 1              # steps between updates
    average_start_epoch: float = 0.0    # first update after this many epochs
    norm_bias_lr_scale: float = 1.0     # learning-rate multiplier of norm-layer biases
    freeze_norm_weights: bool = False   # norm-layer scales stay at 1
    bn_momentum: float | None = None    # BatchNorm running-stat rate (torch's); None: design's
    decay_all: bool = False             # weight decay on biases and norm parameters too
    decoupled_decay: bool = False       # weight decay per step not scaled by the peak lr
    dirac_init: bool = False            # convolutions start as identity on their centre
    whiten_init: bool = False           # first conv: patch-whitening of training images
    whiten_bias_epochs: float = 3.0     # its bias trains this long, its weights never
    logit_scale: float = 1.0            # the loss sees outputs x this (airbench: 1/9)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self, label: Callable[[str], str] = str) -> None:
        """Raise TrainConfigError for the first setting outside its range;
        `label` turns a field name into what the user knows it as (a flag)."""
        for f in fields(self):
            problem = setting_problem(f.name, getattr(self, f.name))
            if problem is not None:
                raise TrainConfigError(f.name, f"{label(f.name)} {problem}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TrainConfig":
        """Settings from a design file: unknown keys and values of the wrong type
        (a file is data and may be edited by hand) fall back to the defaults;
        values out of range too (the loader refuses those with a message, see
        check_training_dict)."""
        out: dict[str, Any] = {}
        if not isinstance(data, dict):
            return cls()
        for f in fields(cls):
            if f.name in data:
                ok, value = _coerce(data[f.name], str(f.type))
                if ok and setting_problem(f.name, value) is None:
                    out[f.name] = value
        return cls(**out)


def _coerce(value: Any, annotation: str) -> tuple[bool, Any]:
    """(True, value) if value fits an annotation such as "int", "str | None"."""
    kinds = {k.strip() for k in annotation.split("|")}
    if value is None:
        return "None" in kinds, None
    if isinstance(value, bool):
        return "bool" in kinds, value
    if isinstance(value, int):
        if "int" in kinds:
            return True, value
        if "float" in kinds and abs(value) < 1e300:
            return True, float(value)
        return False, None
    if isinstance(value, float):
        return "float" in kinds and math.isfinite(value), value
    if isinstance(value, str):
        return "str" in kinds, value
    return False, None
