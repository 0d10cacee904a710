"""Help > Examples > Learn a kernel: the tutorials' edge detector [1, −1] learned
by gradient descent, its two values moving live (plot and numbers).

Training runs in a QThreadPool worker; each job owns its signal object (not
parented to any widget, so a closed dialog cannot take it down mid-emit)."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

PACE_S = 0.08        # between steps, so that the values can be watched
COLOURS = ("#4c8bf5", "#e0575b")


class _Signals(QObject):
    step = Signal(object)       # designer.nn.learn_kernel.Step
    data = Signal(object)       # (X, Y) numpy, before the first step
    finished = Signal(object)   # the last Step, or an error string


class LearnJob(QRunnable):
    def __init__(self, pace_s: float = PACE_S) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = _Signals()
        self.stop = threading.Event()
        self.done = threading.Event()
        self.pace_s = pace_s

    def run(self) -> None:
        try:
            from designer.nn.learn_kernel import learn, make_data
            data = make_data()
            self._emit(self.signals.data, (data[0][:1, 0].numpy(), data[1][:1, 0].numpy()))
            last: Any = learn(data=data, pace_s=self.pace_s, on_step=self._on_step)
        except Exception as e:   # shown in the dialog, never a traceback
            last = f"{type(e).__name__}: {e}"
        self.done.set()
        self._emit(self.signals.finished, last)

    def _on_step(self, step: Any) -> bool:
        return self._emit(self.signals.step, step) and not self.stop.is_set()

    def _emit(self, signal: Any, value: Any) -> bool:
        """False once the application has torn the signal object down (quit
        while learning): the worker then just stops."""
        try:
            signal.emit(value)
            return True
        except RuntimeError:
            self.stop.set()
            return False


_jobs: set[LearnJob] = set()   # alive until their run() has returned


class LearnKernelDialog(QDialog):
    finished_learning = Signal(object)   # the last Step

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Learn a kernel: the edge detector [1, −1]")
        self.job: LearnJob | None = None
        self.steps: list[Any] = []
        self.last: Any = None
        intro = QLabel(
            "A single 1×2 convolution (no bias) sees images X and their edge maps "
            "Y = X ⋆ [1, −1] (each pixel minus its right neighbour). Starting from random "
            "values, gradient descent on the squared error moves its two weights to the "
            "edge detector [1, −1].")
        intro.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "kernel value")
        self.plot.addLegend(offset=(-10, 130))   # between the two curves
        for target in (1.0, -1.0):
            self.plot.addItem(pg.InfiniteLine(target, angle=0,
                                              pen=pg.mkPen("#999", style=Qt.DashLine)))
        self.curves = [self.plot.plot([], [], pen=pg.mkPen(c, width=2), name=n)
                       for c, n in zip(COLOURS, ("w[0] → 1", "w[1] → −1"))]
        self.plot.setYRange(-1.3, 1.3)
        self.values = QLabel("kernel = [ ·, · ]")
        self.values.setObjectName("kernelValues")
        self.values.setStyleSheet("font-size: 16px; font-family: monospace;")
        self.status = QLabel("Press Start.")
        self.images = [pg.ImageView() for _ in range(2)]
        pics = QGridLayout()
        for col, (view, title) in enumerate(zip(self.images, ("X (input)", "Y = X ⋆ [1, −1]"))):
            view.ui.histogram.hide()
            view.ui.roiBtn.hide()
            view.ui.menuBtn.hide()
            view.setFixedSize(150, 150)
            pics.addWidget(QLabel(title), 0, col)
            pics.addWidget(view, 1, col)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.request_stop)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        side = QVBoxLayout()
        side.addLayout(pics)
        side.addWidget(self.values)
        side.addWidget(self.status)
        side.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.plot, 1)
        body.addLayout(side)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(body, 1)
        lay.addLayout(buttons)
        self.resize(820, 440)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._stop_and_wait)

    @Slot()
    def _stop_and_wait(self) -> None:
        """At quit: stop the worker and let it finish before Qt tears down."""
        job = self.job
        if job is not None:
            job.stop.set()
            job.done.wait(5.0)

    @Slot()
    def start(self, pace_s: float = PACE_S) -> None:
        if self.job is not None:
            return
        self.steps, self.last = [], None
        for curve in self.curves:
            curve.setData([], [])
        self.job = LearnJob(pace_s)
        self.job.signals.step.connect(self._on_step)
        self.job.signals.data.connect(self._on_data)
        self.job.signals.finished.connect(self._on_finished)
        _jobs.add(self.job)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText("Learning…")
        QThreadPool.globalInstance().start(self.job)

    @Slot()
    def request_stop(self) -> None:
        if self.job is not None:
            self.job.stop.set()

    @Slot(object)
    def _on_data(self, xy: tuple[np.ndarray, np.ndarray]) -> None:
        for view, img in zip(self.images, xy):
            view.setImage(img[0].T, autoLevels=True)

    @Slot(object)
    def _on_step(self, step: Any) -> None:
        self.steps.append(step)
        xs = [s.step for s in self.steps]
        for i, curve in enumerate(self.curves):
            curve.setData(xs, [s.kernel[i] for s in self.steps])
        self.values.setText(f"kernel = [{step.kernel[0]:+.4f}, {step.kernel[1]:+.4f}]")
        self.status.setText(f"step {step.step} · loss {step.loss:.2e}")

    @Slot(object)
    def _on_finished(self, last: Any) -> None:
        job, self.job = self.job, None
        _jobs.discard(job)   # type: ignore[arg-type]
        self.start_button.setEnabled(True)
        self.start_button.setText("Again")
        self.stop_button.setEnabled(False)
        if isinstance(last, str):
            self.status.setText(f"Could not learn: {last}")
            return
        self.last = last
        reached = last.error() < 0.01
        self.status.setText(
            (f"Reached [1, −1] in {last.step} steps ({last.seconds:.1f} s)." if reached
             else f"Stopped at step {last.step}.") + f"  loss {last.loss:.2e}")
        self.finished_learning.emit(last)

    def closeEvent(self, event: Any) -> None:
        self.request_stop()
        super().closeEvent(event)
