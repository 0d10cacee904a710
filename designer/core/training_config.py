"""Training settings: the design file's "training" object, the engine's input,
and the exported train.py's defaults. Pure Python."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TrainConfig":
        """Settings from a design file: unknown keys and values of the wrong type
        (a file is data and may be edited by hand) fall back to the defaults."""
        out: dict[str, Any] = {}
        if not isinstance(data, dict):
            return cls()
        for f in fields(cls):
            if f.name in data:
                ok, value = _coerce(data[f.name], str(f.type))
                if ok:
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
