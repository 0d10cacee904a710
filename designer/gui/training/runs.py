"""What the panel keeps about each training run of the session (Qt-free)."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from designer.core.model import Design
from designer.core.training_config import TrainConfig
from designer.io.files import atomic_path
from designer.nn.events import EpochEnd, Finished, Started, Step

# tab10: distinct on white and on dark backgrounds
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
EMA_ALPHA = 0.05   # smoothing of the per-step loss curve


class Series:
    """A growable float array; view() is what a curve's setData takes."""

    def __init__(self, capacity: int = 256) -> None:
        self._data = np.empty(capacity, dtype=np.float64)
        self.n = 0

    def append(self, value: float) -> None:
        if self.n == len(self._data):
            bigger = np.empty(2 * len(self._data), dtype=np.float64)
            bigger[:self.n] = self._data
            self._data = bigger
        self._data[self.n] = value
        self.n += 1

    def view(self) -> np.ndarray:
        return self._data[:self.n]

    def __len__(self) -> int:
        return self.n


@dataclass
class Samples:
    """A few test images with the trained model's predictions."""
    images: np.ndarray          # uint8 N x 3 x H x W
    true: list[int]
    predicted: list[int]
    class_names: list[str]


@dataclass
class Run:
    number: int
    config: TrainConfig
    design: Design               # the snapshot the run trained
    colour: str
    state: str = "starting"      # starting, running, paused, finished, stopped, failed, loaded
    started: Started | None = None
    step_x: Series = field(default_factory=Series)
    step_loss: Series = field(default_factory=Series)
    step_ema: Series = field(default_factory=Series)
    step_lr: Series = field(default_factory=Series)
    epochs: list[EpochEnd] = field(default_factory=list)
    finished: Finished | None = None
    message: str = ""            # failure message
    checkpoint: dict[str, Any] | None = None
    samples: Samples | None = None
    visible: bool = True
    dirty: bool = True           # new data since the plots last drew it
    last_step: Step | None = None
    label_extra: str = ""

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running", "paused")

    @property
    def final_accuracy(self) -> float | None:
        if self.finished is not None:
            acc = self.finished.metrics.get("test_acc")
            if isinstance(acc, (int, float)) and np.isfinite(acc):  # NaN: nothing evaluated
                return float(acc)
        for e in reversed(self.epochs):
            if e.test_acc is not None:
                return e.test_acc
            if e.val_acc is not None:
                return e.val_acc
        return None

    def title(self) -> str:
        acc = self.final_accuracy
        parts = [f"Run {self.number}", self.design.name]
        if self.label_extra:
            parts.append(self.label_extra)
        state = {"starting": "starting", "running": "running", "paused": "paused",
                 "stopped": "stopped", "failed": "failed", "loaded": "loaded"}.get(self.state)
        if acc is not None:
            parts.append(f"{100 * acc:.1f}%")
        if state:
            parts.append(state)
        return " · ".join(parts)

    def add_step(self, step: Step) -> None:
        prev = self.step_ema.view()[-1] if len(self.step_ema) else step.loss
        ema = step.loss if not np.isfinite(prev) else prev + EMA_ALPHA * (step.loss - prev)
        self.step_x.append(step.global_step)
        self.step_loss.append(step.loss)
        self.step_ema.append(ema)
        self.step_lr.append(step.lr)
        self.last_step = step
        self.dirty = True

    def add_epoch(self, epoch: EpochEnd) -> None:
        self.epochs.append(epoch)
        self.dirty = True

    def epoch_series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """x = epoch number, y = the named EpochEnd field (rows without it skipped)."""
        pts = [(e.epoch, getattr(e, name)) for e in self.epochs if getattr(e, name) is not None]
        if not pts:
            return np.empty(0), np.empty(0)
        xs, ys = zip(*pts)
        return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)

    def eval_name(self) -> str:
        """Which held-out numbers the run reports: validation when it has a split."""
        return "val" if any(e.val_loss is not None for e in self.epochs) else "test"


CSV_COLUMNS = ["run", "design", "epoch", "step", "global_step", "loss", "lr",
               "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
               "epoch_seconds"]


def export_csv(path: str | os.PathLike[str], runs: list[Run]) -> int:
    """One row per reported step and per finished epoch; returns the row count."""
    rows = 0
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for run in runs:
            steps = run.step_x.view()
            spe = run.started.steps_per_epoch if run.started else 0
            epochs = {e.epoch: e for e in run.epochs}
            for i, gs in enumerate(steps):
                g = int(gs)
                epoch = (g - 1) // spe + 1 if spe else ""
                step = (g - 1) % spe + 1 if spe else ""
                w.writerow([run.number, run.design.name, epoch, step, g,
                            _num(run.step_loss.view()[i]), _num(run.step_lr.view()[i]),
                            "", "", "", "", "", "", ""])
                rows += 1
                if spe and step == spe and epoch in epochs:
                    w.writerow(_epoch_row(run, epochs.pop(epoch)))
                    rows += 1
            for e in sorted(epochs.values(), key=lambda e: e.epoch):
                w.writerow(_epoch_row(run, e))
                rows += 1
    return rows


def _epoch_row(run: Run, e: EpochEnd) -> list[Any]:
    return [run.number, run.design.name, e.epoch, "", "", "", "",
            _num(e.train_loss), _num(e.train_acc), _num(e.val_loss), _num(e.val_acc),
            _num(e.test_loss), _num(e.test_acc), _num(e.seconds)]


def _num(v: float | None) -> str:
    return "" if v is None else repr(float(v))
