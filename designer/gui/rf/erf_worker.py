"""Torch work for the receptive-field view, in a background QThread: loading
the test images, building the design, the effective receptive field,
activations and filters. torch is imported there, never at start-up."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from designer.core.model import Design
from designer.gui.lifetimes import keep_until_finished


@dataclass
class Job:
    """One request: everything the worker needs, copied in the GUI thread."""
    request_id: int
    version: int                      # bumps when the design or weights change
    design: Design | None             # snapshot; None for a pure image-load job
    weights: dict[str, Any] | None    # trained state_dict that fits, else None
    layer_id: str | None
    unit: tuple[int, int] | None      # (i, j) for the effective field
    images: np.ndarray | None         # uint8 N×C×H×W; [0] is the shown image
    box: tuple[float, float, float, float] | None = None   # theoretical field, inclusive
    rgb_filters: bool = False         # the layer's input is the image itself
    load_images_from: str | os.PathLike[str] | None = None
    load_images: bool = False


@dataclass
class Result:
    request_id: int
    layer_id: str | None = None
    unit: tuple[int, int] | None = None
    heat: np.ndarray | None = None
    inside: float | None = None
    activations: np.ndarray | None = None
    filters: np.ndarray | None = None
    weights_label: str = ""
    images: Any = None                # ImageSet after a load job
    error: str | None = None
    seconds: float = 0.0


class TorchWorker(QObject):
    """Lives in the worker thread; run() is called through a queued signal."""
    done = Signal(object)   # Result

    def __init__(self) -> None:
        super().__init__()
        self._module: Any = None
        self._version: int | None = None
        self._label = ""

    @Slot(object)
    def run(self, job: Job) -> None:
        t0 = time.perf_counter()
        try:
            result = self._run(job)
        except Exception as e:   # shown in the panel, never a traceback
            result = Result(job.request_id, job.layer_id, job.unit,
                            error=f"{type(e).__name__}: {e}")
        result.seconds = time.perf_counter() - t0
        self.done.emit(result)

    def _module_for(self, job: Job) -> Any:
        if self._version == job.version and self._module is not None:
            return self._module
        from designer.nn.build import build
        from designer.nn.erf import prepare
        assert job.design is not None
        module = build(job.design)
        weights, note = job.weights, ""
        if weights is not None:
            from designer.nn.checkpoint import CheckpointError, check_fits
            try:
                check_fits(module, weights)
            except CheckpointError as e:
                weights, note = None, f" — the last training run's weights do not fit: {e}"
        self._label = prepare(module, weights) + note
        self._module, self._version = module, job.version
        return module

    def _run(self, job: Job) -> Result:
        if job.load_images:
            from designer.gui.rf.image_source import load_test_images
            return Result(job.request_id, images=load_test_images(job.load_images_from))
        from designer.nn import erf
        module = self._module_for(job)
        result = Result(job.request_id, job.layer_id, job.unit, weights_label=self._label)
        if job.layer_id is None or job.images is None:
            return result
        name = module.names[job.layer_id]
        rank = job.images.ndim - 2          # the images arrive batched
        x = erf.image_tensor(job.images, rank)
        result.activations = erf.activations(module, name, x, rank)
        result.filters = erf.filters(module, name, job.rgb_filters)
        if job.unit is not None and result.activations.ndim == 3 and rank == 2:
            result.heat = erf.effective_rf(module, name, job.unit, x)
            if job.box is not None:
                box = tuple(int(round(v)) for v in job.box)
                result.inside = erf.share_inside(result.heat, box)  # type: ignore[arg-type]
        return result


class TorchRunner(QObject):
    """Owns the worker thread. submit() never blocks: a job sent while one runs
    waits, and only the newest waiting job is kept."""
    finished = Signal(object)   # Result, in the GUI thread
    _post = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("rf-torch-worker")
        self.worker = TorchWorker()
        self.worker.moveToThread(self.thread)
        self._post.connect(self.worker.run)
        self.worker.done.connect(self._on_done)
        # the thread and the worker it emits on outlive this runner if it is deleted
        keep_until_finished(self.thread, self.worker)
        self.thread.start()
        self.destroyed.connect(self.thread.quit)   # a panel closed without shutdown()
        self.busy = False
        self._waiting: Job | None = None
        self._waiting_loads: list[Job] = []
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def submit(self, job: Job) -> None:
        if self.busy:
            if job.load_images:
                self._waiting_loads.append(job)
            else:
                self._waiting = job
            return
        self.busy = True
        self._post.emit(job)

    @Slot(object)
    def _on_done(self, result: Result) -> None:
        self.busy = False
        nxt = self._waiting_loads.pop(0) if self._waiting_loads else self._waiting
        if nxt is self._waiting:
            self._waiting = None
        if nxt is not None:
            self.submit(nxt)
        self.finished.emit(result)

    def release(self) -> bool:
        """Ask the thread to end without waiting for a job in progress (a window
        closing must not block on torch); lifetimes keeps it until it ends."""
        self._waiting, self._waiting_loads = None, []
        self.thread.quit()
        return True

    @Slot()
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        self._waiting, self._waiting_loads = None, []
        if not self.thread.isRunning():
            return True
        self.thread.quit()
        return bool(self.thread.wait(timeout_ms))
