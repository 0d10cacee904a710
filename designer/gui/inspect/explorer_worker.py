"""Real values for the explorer, computed off the GUI thread.

Each job owns its signal object, which is not parented to any widget: a
panel closed while a job runs cannot delete the object the worker emits on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from designer.core.model import Design


@dataclass
class ValuesRequest:
    key: tuple[Any, ...]          # what the answer belongs to (stale answers are dropped)
    design: Design                # a snapshot
    layer_id: str
    image: np.ndarray             # uint8 C×H×W at the design's input size
    weights: dict[str, Any] | None


class _Signals(QObject):
    done = Signal(object, object)   # (key, LayerValues or an error string)


class ValuesJob(QRunnable):
    def __init__(self, request: ValuesRequest) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.request = request
        self.signals = _Signals()

    def run(self) -> None:
        r = self.request
        try:
            from designer.nn.explorer_values import layer_values
            result: Any = layer_values(r.design, r.layer_id, r.image, r.weights)
        except Exception as e:   # shown in the panel, never a traceback
            result = f"{type(e).__name__}: {e}"
        self.signals.done.emit(r.key, result)


_alive: dict[tuple[Any, ...], ValuesJob] = {}   # until the receiver has the answer


def submit(request: ValuesRequest, receiver: Any) -> ValuesJob:
    """Start a job; `receiver` is a slot of a QObject in the GUI thread."""
    job = ValuesJob(request)
    job.signals.done.connect(receiver)
    _alive[request.key] = job
    QThreadPool.globalInstance().start(job)
    return job


def forget(key: tuple[Any, ...]) -> None:
    """Called by the receiver, in the GUI thread, once it has the answer (the
    job's objects are then released there, not in the worker thread)."""
    _alive.pop(key, None)
