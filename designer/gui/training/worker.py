"""The training engine in a QThread, and the GUI-thread object that owns it.

The worker gets a snapshot of the design, never the live model. Its events
cross to the GUI thread through queued signals to RunController, a QObject
living in the GUI thread (a plain callable would run in the worker thread).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from designer.core.model import Design
from designer.core.training_config import TrainConfig
from designer.gui.lifetimes import keep_until_finished
from designer.gui.training.runs import Samples
from designer.nn.events import Failed, Finished

SAMPLE_IMAGES = 24


@dataclass
class RunResult:
    """What the worker hands back once the engine returns."""
    state_dict: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    samples: Samples | None = None
    finished: Finished | None = None
    failed: str | None = None
    token: int = 0                       # which run this belongs to
    notes: list[str] = field(default_factory=list)


class TrainWorker(QObject):
    event = Signal(int, object)    # (token, engine event), emitted in the worker thread
    done = Signal(object)     # RunResult, emitted last

    def __init__(self, design: Design, config: TrainConfig, token: int) -> None:
        super().__init__()
        self.token = token
        self._design = design
        self._config = config
        self._lock = threading.Lock()
        self._trainer: Any = None
        self._stop = False
        self._paused = False
        self._result = RunResult(token=token)

    # --- called from the GUI thread (thread-safe) -----------------------------
    def stop(self) -> None:
        with self._lock:
            self._stop = True
            trainer = self._trainer
        if trainer is not None:
            trainer.stop()
            trainer.resume()  # a paused engine must wake up to see the stop

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            trainer = self._trainer
        if trainer is not None:
            trainer.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            trainer = self._trainer
        if trainer is not None:
            trainer.resume()

    # --- runs in the worker thread --------------------------------------------
    @Slot()
    def run(self) -> None:
        result = self._result
        try:
            from designer.nn.trainer import Trainer
            trainer = Trainer(self._design, self._config, self._on_event)
            with self._lock:
                self._trainer = trainer
                stop, paused = self._stop, self._paused
            if stop:
                trainer.stop()
            elif paused:
                trainer.pause()
            trainer.run()
            if result.finished is not None:
                result.state_dict = {k: v.detach().cpu().clone()
                                     for k, v in trainer.state_dict().items()}
                fin = result.finished
                result.checkpoint = trainer.checkpoint({
                    **fin.metrics, "per_class_acc": list(fin.per_class_acc),
                    "confusion": [list(r) for r in fin.confusion],
                    "class_names": list(fin.class_names)})
                try:
                    result.samples = predict_samples(trainer, result.finished.class_names)
                except Exception as e:  # the grid is a nicety; the run itself succeeded
                    result.notes.append(f"test images could not be shown ({e})")
        except BaseException as e:  # never let an exception kill the thread silently
            message = f"training stopped by an unexpected error: {type(e).__name__}: {e}"
            result.failed = result.failed or message
            self.event.emit(self.token, Failed(message))
        finally:
            with self._lock:
                self._trainer = None
            self.done.emit(result)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, Finished):
            self._result.finished = event
        elif isinstance(event, Failed):
            self._result.failed = event.message
        self.event.emit(self.token, event)


def predict_samples(trainer: Any, class_names: list[str], n: int = SAMPLE_IMAGES) -> Samples:
    """The trained model's predictions on a fixed spread of test images."""
    import numpy as np
    import torch

    data = trainer.data
    test_x = data.test_x
    count = len(test_x)
    idx = np.linspace(0, count - 1, num=min(n, count)).astype(int)
    images = test_x[torch.as_tensor(idx)] if isinstance(test_x, torch.Tensor) else test_x[idx]
    images_t = torch.as_tensor(images)
    with torch.no_grad():
        logits = trainer.predict(images_t)
    predicted = logits.argmax(dim=1).cpu().tolist()
    true = [int(data.test_y[int(i)]) for i in idx]
    return Samples(np.asarray(images_t.cpu().numpy(), dtype=np.uint8), true, predicted,
                   list(class_names or data.class_names))


class RunController(QObject):
    """Owns the QThread of the current run. All signals arrive in the GUI thread."""
    event = Signal(int, object)  # (token, engine event) of the current run
    finished = Signal(object)    # RunResult (with its token), after the thread has ended

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainWorker | None = None
        self._token = 0

    @property
    def active(self) -> bool:
        return self._thread is not None

    @property
    def thread(self) -> QThread | None:
        return self._thread

    def start(self, design: Design, config: TrainConfig, token: int) -> None:
        if self._thread is not None:
            raise RuntimeError("a run is already active")
        thread = QThread()
        thread.setObjectName("designer-training")
        worker = TrainWorker(design, config, token)
        self._token = token
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Direct: quit from the worker thread itself, so wait() cannot hang on a queued quit
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        worker.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._thread, self._worker = thread, worker
        keep_until_finished(thread, worker, stop=worker.stop)   # outlives this controller
        thread.start()

    def pause(self) -> None:
        if self._worker is not None:
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None:
            self._worker.resume()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Stop the run and join its thread; True when no thread is left running."""
        thread = self._thread
        if thread is None:
            return True
        self.stop()
        if not thread.wait(timeout_ms):
            return False
        self._forget()
        return True

    @Slot(int, object)
    def _on_event(self, token: int, event: Any) -> None:
        self.event.emit(token, event)

    @Slot(object)
    def _on_done(self, result: RunResult) -> None:
        # a run joined by shutdown() reports late; it must not touch a newer run's thread
        if self._thread is not None and result.token == self._token:
            self._thread.wait(10000)
            self._forget()
        self.finished.emit(result)

    def _forget(self) -> None:
        self._thread, self._worker = None, None
