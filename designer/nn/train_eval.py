"""Evaluation of a model on held tensors: loss, accuracy, confusion matrix."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

EVAL_BATCH = 1024


class EvaluationSkipped(Exception):
    """should_stop() said to give up part-way."""


@dataclass
class Evaluation:
    loss: float
    acc: float
    confusion: list[list[int]]          # [true][predicted]

    @property
    def per_class_acc(self) -> list[float]:
        return [row[i] / sum(row) if sum(row) else 0.0 for i, row in enumerate(self.confusion)]


def predict_logits(model: nn.Module, images: torch.Tensor,
                   prepare: Callable[[torch.Tensor], torch.Tensor],
                   autocast: Callable[[], object], batch: int = EVAL_BATCH,
                   should_stop: Callable[[], bool] | None = None,
                   views: Callable[[torch.Tensor], list[torch.Tensor]] | None = None
                   ) -> torch.Tensor:
    """float32 logits for uint8 images (already on the model's device); with
    views, the mean of the logits of the views of each batch (TTA)."""
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch):
                if should_stop is not None and should_stop():
                    raise EvaluationSkipped()
                chunk = images[start:start + batch]
                parts = views(chunk) if views is not None else [chunk]
                total = None
                for view in parts:
                    with autocast():  # type: ignore[attr-defined]
                        out = model(prepare(view)).float()
                    total = out if total is None else total + out
                assert total is not None
                outs.append(total / len(parts) if len(parts) > 1 else total)
    finally:
        model.train(was_training)
    if not outs:
        return torch.zeros(0, 0)
    return torch.cat(outs)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: int,
             prepare: Callable[[torch.Tensor], torch.Tensor],
             autocast: Callable[[], object],
             should_stop: Callable[[], bool] | None = None,
             batch: int = EVAL_BATCH,
             predict: Callable[..., torch.Tensor] | None = None) -> Evaluation:
    """`predict` (same arguments as predict_logits) replaces it, e.g. for TTA."""
    if len(images) == 0:
        return Evaluation(float("nan"), 0.0, [[0] * classes for _ in range(classes)])
    logits = (predict or predict_logits)(model, images, prepare, autocast, batch=batch,
                                         should_stop=should_stop)
    loss = F.cross_entropy(logits, labels, reduction="sum").item() / len(labels)
    pred = logits.argmax(dim=1)
    counts = torch.bincount(labels * classes + pred, minlength=classes * classes)
    confusion = counts.view(classes, classes).cpu().tolist()
    acc = sum(confusion[i][i] for i in range(classes)) / len(labels)
    return Evaluation(loss, acc, confusion)
