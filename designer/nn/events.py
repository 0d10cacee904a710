"""Training configuration and the events the engine reports (Qt-free, torch-free).

The GUI's training panel and the CLI both consume these; keep names stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from designer.core.training_config import TrainConfig


@dataclass
class Started:
    epochs: int
    steps_per_epoch: int
    train_size: int
    test_size: int
    device: str
    dataset_label: str                  # e.g. "CIFAR-10" or "synthetic (not real data)"
    class_names: list[str] = field(default_factory=list)
    precision: str = "fp32"             # fp32, bf16 or fp16 (autocast)
    channels_last: bool = False
    threads: int = 0                    # torch intra-op threads (CPU)
    start_epoch: int = 0                # epochs already done (resumed from a checkpoint)
    notes: list[str] = field(default_factory=list)  # e.g. "fp16 needs CUDA: using fp32"


@dataclass
class Step:
    epoch: int                          # 1-based
    step: int                           # 1-based within the epoch
    global_step: int
    loss: float
    lr: float
    images_per_s: float
    eta_s: float


@dataclass
class EpochEnd:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    test_loss: float | None
    test_acc: float | None
    seconds: float
    lr: float = 0.0                     # learning rate at the end of the epoch
    best: bool = False                  # this epoch is the best so far (best.pt written)


@dataclass
class Finished:
    stopped: bool                       # True when the user stopped it early
    metrics: dict[str, Any]             # final test_acc, test_loss, epochs_done, seconds, ...
    per_class_acc: list[float]
    confusion: list[list[int]]          # [true][predicted]
    class_names: list[str]


@dataclass
class Failed:
    message: str                        # plain words, shown to the user as is
    kind: str = "training"              # data (missing/corrupt), design, settings, training


@dataclass
class Paused:
    paused: bool                        # True when paused, False when resumed


Event = Started | Step | EpochEnd | Finished | Failed | Paused
Callback = Callable[[Event], None]

__all__ = ["TrainConfig", "Started", "Step", "EpochEnd", "Finished", "Failed", "Paused",
           "Event", "Callback"]
