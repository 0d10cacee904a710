"""The training plan beside Start: "1.2 GB at batch 128, ~50 s per epoch here",
a bar per layer of what backward keeps, and a warning (and a question at
Start) when the plan exceeds the device's free memory, with the batch that fits.

The memory plan is pure Python and redone on every edit. What needs torch
(which "auto" precision means here, free memory, the device calibration for
the time) is probed off the GUI thread and cached.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QMessageBox, QVBoxLayout, QWidget

from designer.core.plan_report import PHASES, fmt_bytes, one_line, settings_for
from designer.core.plan_time import TimeEstimate, estimate, format_seconds
from designer.core.planner import Plan, PlanError, plan
from designer.core.training_config import TrainConfig
from designer.gui.training.background import call_in_background
from designer.gui.training.data_label import nd_counts

WARN_STYLE = ("QLabel { background: #fff4d6; color: #5c4400; border: 1px solid #e8cf80;"
              " border-radius: 3px; padding: 4px; }")
CIFAR_TRAIN, CIFAR_TEST, CIFAR_IMAGE_BYTES = 50000, 10000, 3 * 32 * 32 + 8
# The first calibration of a device (1-3 s of full load) waits until the panel
# has been idle this long, and gives way as soon as a run starts.
CALIBRATE_DELAY_MS = 5000
TOP_LAYERS = 6        # bars by name; the rest are summed into "others"
CHART_HEIGHT = 175
LABEL_WIDTH = 110     # the layer names on the left axis (elided in the middle)


def bar_rows(kept: list[tuple[str, float]], top: int = TOP_LAYERS) -> list[tuple[str, float]]:
    """The `top` layers that keep most, largest first, then "others (n)" with the rest."""
    ranked = sorted(kept, key=lambda pair: -pair[1])
    if len(ranked) <= top + 1:
        return ranked
    rest = ranked[top:]
    return ranked[:top] + [(f"{len(rest)} others", sum(mb for _, mb in rest))]


def _probe_machine() -> dict[str, Any]:
    """Runs in a background thread: what the planner needs to know from torch."""
    import torch

    from designer.nn import train_setup as setup
    from designer.nn.memory_check import free_memory
    free = {"cpu": free_memory(torch.device("cpu"))}
    cuda_bf16 = False
    if torch.cuda.is_available():
        free["cuda"] = free_memory(torch.device("cuda"))
        cuda_bf16 = bool(torch.cuda.is_bf16_supported())
    return {"free": free, "fast_bf16": setup.cpu_has_fast_bf16(), "cuda_bf16": cuda_bf16,
            "bf16_min_macs": setup.CPU_BF16_MIN_MACS,
            "cuda": torch.cuda.is_available()}


class PlanView(QWidget):
    def __init__(self, context: Any, form: Any, parent: QWidget | None = None,
                 cache_dir: Any = None) -> None:
        super().__init__(parent)
        self._owner = parent          # the training panel (layouts re-parent this widget)
        self.context, self.form = context, form
        self.cache_dir = cache_dir
        self.machine: dict[str, Any] | None = None
        self.calibrations: dict[tuple[Any, ...], Any] = {}
        self._calibrating: set[tuple[Any, ...]] = set()
        self.plan: Plan | None = None
        self.time: TimeEstimate | None = None
        self.ask: Callable[[str], bool] = self._ask   # replaced in tests
        self.summary = QLabel("plan: waiting for a valid design")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARN_STYLE)
        self.warning.hide()
        # horizontal bars, the layers that keep most by name (a bar per layer of a
        # 30-layer design leaves no room for its names), the rest as one "others"
        self.chart = pg.PlotWidget()
        self.chart.setMenuEnabled(False)
        self.chart.setMouseEnabled(False, False)
        self.chart.setFixedHeight(CHART_HEIGHT)
        self.chart.setLabel("bottom", "MB kept for backward")
        self.chart.getPlotItem().hideButtons()
        self.chart.getPlotItem().invertY(True)      # the largest on top
        self.chart.getAxis("left").setWidth(LABEL_WIDTH)
        self.bars = pg.BarGraphItem(x0=0, y=[], width=[], height=0.7, brush="#e0575b")
        self.chart.addItem(self.bars)
        self.chart.setToolTip("What backward keeps, per layer (the tensors each layer made)")
        self.rows: list[tuple[str, float]] = []    # (label, MB) as drawn, top first
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.summary)
        lay.addWidget(self.warning)
        lay.addWidget(self.chart)
        self._stale = False   # the design changed while this view was hidden
        context.analysis_changed.connect(self._on_change)
        form.changed.connect(self._on_change)
        self._on_change()

    # --- what torch knows, probed once ------------------------------------------
    def probe(self) -> None:
        call_in_background(_probe_machine, self._on_machine, self)

    def _on_machine(self, info: Any, error: BaseException | None) -> None:
        if error is None and isinstance(info, dict):
            self.machine = info
            self._on_change()

    def resolved(self, config: TrainConfig) -> tuple[str, str, bool]:
        """(device type, precision, channels_last) as the trainer will choose them."""
        m = self.machine or {}
        device = (config.device or "auto").lower()
        if device == "auto":
            device = "cuda" if m.get("cuda") else "cpu"
        device = "cuda" if device.startswith("cuda") else device
        precision = (config.precision or "auto").lower()
        macs = self.context.analysis.total_macs
        if device == "cuda" and precision == "auto":
            precision = "bf16" if m.get("cuda_bf16", True) else "fp16"
        elif device != "cuda":
            if precision == "fp16" or (precision == "bf16" and device == "mps"):
                precision = "fp32"
            elif precision == "auto":
                fast = device == "cpu" and m.get("fast_bf16") and \
                    macs >= m.get("bf16_min_macs", 5_000_000)
                precision = "bf16" if fast else "fp32"
        has_conv = any(i.type.startswith("Conv") for i in self.context.analysis.layers.values())
        cl = (config.channels_last or "auto").lower()
        channels_last = cl == "on" or (cl == "auto" and has_conv and device in ("cuda", "cpu"))
        return device, precision, channels_last

    # --- the plan ------------------------------------------------------------------
    @Slot()
    @Slot(object)
    def _on_change(self, _analysis: Any = None) -> None:
        # planning a 10,000-layer design takes ~0.5 s: a hidden view (another
        # mode) plans when it is shown again, and Start always re-plans
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        analysis = self.context.analysis
        config = self.form.config()
        self.plan, self.time, self._stale = None, None, False
        if not analysis.ok:
            self._show_nothing("plan: fix the design's errors to see its memory and time")
            return
        device, precision, cl = self.resolved(config)
        # the trainer moves the dataset to the GPU; on the CPU it is in memory already
        data = self._dataset_bytes(config) if device == "cuda" else 0
        try:
            self.plan = plan(self.context.design,
                             settings_for(config, device, precision, cl, data), analysis)
        except PlanError as e:
            self._show_nothing(f"plan: {e}")
            return
        self.time = self._time(config, device, precision, cl)
        self._show()

    def _dataset_bytes(self, config: TrainConfig) -> int:
        shape = tuple(self.context.analysis.input_shape)
        nd = nd_counts(config.train_limit, config.test_limit, shape)
        if nd is not None:   # 1-D / 3-D designs train on synthetic data of their shape
            return sum(nd) * int(np.prod(shape))
        synthetic = (config.dataset or "").lower() == "synthetic"
        train = config.train_limit or (10000 if synthetic else CIFAR_TRAIN)
        test = config.test_limit or (2000 if synthetic else CIFAR_TEST)
        return (train + test) * CIFAR_IMAGE_BYTES

    def _time(self, config: TrainConfig, device: str, precision: str,
              cl: bool) -> TimeEstimate | None:
        if self.machine is None or self.plan is None:
            return None
        if device == "cuda" and not self.machine.get("cuda"):
            return None
        key = (device, precision, cl, config.threads)
        cal = self.calibrations.get(key)
        if cal is None:
            self._calibrate(key)
            return None
        synthetic = (config.dataset or "").lower() == "synthetic"
        train = (config.train_limit or (10000 if synthetic else CIFAR_TRAIN)) - config.val_split
        test = (config.test_limit or (2000 if synthetic else CIFAR_TEST)) + config.val_split
        nd = nd_counts(config.train_limit, config.test_limit,
                       tuple(self.context.analysis.input_shape))
        if nd is not None:
            train, test = nd[0] - config.val_split, nd[1] + config.val_split
        return estimate(self.context.design, self.context.analysis, cal,
                        self.plan.batch_size, max(0, train), test, precision,
                        self.plan.settings.optimizer, self.plan.gradients,
                        self.plan.settings.momentum > 0,
                        augment=config.augment_crop or config.augment_flip)

    def _training(self) -> bool:
        return bool(getattr(self._owner, "training", False))

    def _calibrate(self, key: tuple[Any, ...]) -> None:
        if key in self._calibrating or self._training():
            return
        self._calibrating.add(key)
        QTimer.singleShot(CALIBRATE_DELAY_MS, self, lambda: self._start_calibration(key))

    def _start_calibration(self, key: tuple[Any, ...]) -> None:
        if self._training():
            self._calibrating.discard(key)   # tried again when the plan is next redone
            return
        device, precision, cl, threads = key
        cache_dir = self.cache_dir
        busy = self._training

        def job() -> Any:
            import torch

            from designer.nn import threads as torch_threads
            from designer.nn.calibrate import cached
            if device == "cpu":
                torch_threads.configure(threads)   # as the trainer will
            return cached(torch.device(device), precision, cl, cache_dir, should_stop=busy)

        def done(cal: Any, error: BaseException | None) -> None:
            self._calibrating.discard(key)
            if error is None:
                self.calibrations[key] = cal
                self.refresh()

        call_in_background(job, done, self)

    def free_bytes(self) -> int | None:
        if self.plan is None or self.machine is None:
            return None
        return self.machine.get("free", {}).get(self.plan.settings.device)

    def _show_nothing(self, text: str) -> None:
        self.summary.setText(text)
        self.warning.hide()
        self._show_rows([])

    def _show_rows(self, rows: list[tuple[str, float]]) -> None:
        self.rows = rows
        self.bars.setOpts(x0=0, y=list(range(len(rows))), width=[mb for _, mb in rows],
                          height=0.7)
        fm = self.fontMetrics()
        self.chart.getAxis("left").setTicks(
            [[(i, fm.elidedText(label, Qt.TextElideMode.ElideMiddle, LABEL_WIDTH - 12))
              for i, (label, _) in enumerate(rows)], []])
        plot = self.chart.getPlotItem()
        plot.setYRange(-0.6, max(len(rows), 1) - 0.4, padding=0)
        plot.setXRange(0, max([mb for _, mb in rows] + [1e-3]) * 1.05, padding=0)

    def _show(self) -> None:
        p = self.plan
        assert p is not None
        text = "Plan: " + one_line(p, self.time)
        if self.time is None and self.machine is not None:
            text += " (measuring this device for the time…)" if self._calibrating else ""
        elif self.time is not None:
            low, high = self.time.epoch_range
            text += f" ({format_seconds(low)}–{format_seconds(high)})"
        self.summary.setText(text)
        b = p.breakdown
        tip = (f"peak {fmt_bytes(p.peak)} {PHASES.get(p.phase, p.phase)}\n"
               + "\n".join(f"{k}: {fmt_bytes(v)}" for k, v in b.items()))
        if self.time is not None:
            t = self.time
            tip += (f"\nepoch: {format_seconds(t.step_s)} per step x {t.steps_per_epoch}"
                    f" + {format_seconds(t.eval_s)} evaluating (validation and test "
                    "images, after every epoch)")
        self.summary.setToolTip(tip)
        self._show_rows(bar_rows([(lp.id, lp.saved_bytes / 1e6) for lp in p.layers]))
        free = self.free_bytes()
        if free is not None and p.peak > free:
            self.warning.setText(self.too_big_text(free))
            self.warning.show()
        else:
            self.warning.hide()

    def too_big_text(self, free: int) -> str:
        p = self.plan
        assert p is not None
        best = p.max_batch_size(free)
        where = "GPU" if p.settings.device == "cuda" else "memory"
        text = (f"This needs about {fmt_bytes(p.peak)} at batch {p.batch_size}, more than "
                f"the {fmt_bytes(free)} of free {where}: ")
        return text + (f"a batch of {best} would fit." if best else
                       "even batch 1 does not fit; make the design smaller.")

    # --- Start ------------------------------------------------------------------
    def confirm_start(self) -> bool:
        """False when the plan exceeds free memory and the user chooses not to start."""
        self.refresh()
        free = self.free_bytes()
        if self.plan is None or free is None or self.plan.peak <= free:
            return True
        return self.ask(self.too_big_text(free) + "\n\nStart anyway?")

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.warning(self, "Training may not fit in memory", text,
                                     QMessageBox.StandardButton.Yes
                                     | QMessageBox.StandardButton.Cancel,
                                     QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes
