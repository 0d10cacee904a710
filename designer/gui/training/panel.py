"""TrainingPanel: the dock panel that trains the current design in the background.

The lead adds it with window.add_panel("Training", panel, Qt.BottomDockWidgetArea)
and window.close_guards.append(panel.close_guard).
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap, QShowEvent
from PySide6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMessageBox, QProgressBar, QPushButton,
                               QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from designer.core.training_config import TrainConfig
from designer.gui.context import DesignContext
from designer.gui.training import files
from designer.gui.training.background import call_in_background
from designer.gui.training.plan_view import PlanView
from designer.gui.training.plots import TrainingPlots
from designer.gui.training.results import ResultsView
from designer.gui.training.runs import PALETTE, Run
from designer.gui.training.settings_form import SettingsForm
from designer.gui.training.worker import RunController, RunResult
from designer.nn.events import EpochEnd, Failed, Finished, Paused, Started, Step

STARTUP_DELAY_MS = 800  # torch is imported in the background, after the window is up
REDRAW_MS = 60          # ~16 Hz: plots and progress redraw from this timer only
ERROR_STYLE = ("QLabel { background: #fde7e9; color: #8a0012; border: 1px solid #e8a0a8;"
               " border-radius: 3px; padding: 4px; }")
INFO_STYLE = ("QLabel { background: #fff4d6; color: #5c4400; border: 1px solid #e8cf80;"
              " border-radius: 3px; padding: 4px; }")


def _probe_devices() -> list[str]:
    import torch
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def _state_dir() -> Any:
    from designer.gui.autosave import state_dir
    return state_dir()


CHANGED_NOTICE = ("The design changed since this run started: the run keeps training the "
                  "design as it was when you pressed Start.")


def _same_network(a: Any, b: Any) -> bool:
    """Whether two designs train the same network (positions and names aside)."""
    def key(d: Any) -> tuple[Any, ...]:
        return (d.input, d.output, [(lay.id, lay.type, lay.params, lay.inputs, lay.frozen)
                                    for lay in d.layers])
    return key(a) == key(b)


def _fmt_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


class TrainingPanel(QWidget):
    run_finished = Signal(object)     # Run, once its result is in and its thread has ended
    checkpoint_done = Signal(bool)    # after Load weights…: True when loaded
    run_starting = Signal()           # a run is about to start (the window autosaves)

    def __init__(self, context: DesignContext, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._settings = settings or QSettings("CNN Designer", "cnn-designer")
        self.runs: list[Run] = []
        self.current: Run | None = None
        self._devices_probed = False
        self.controller = RunController(self)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._redraw)

        self.form = SettingsForm(self._settings)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.start_button.setToolTip("Train the current design (a copy: you can keep editing)")
        self.progress = QProgressBar()
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.speed = QLabel("")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(INFO_STYLE)
        self.notice.hide()
        self.plots = TrainingPlots()
        self.plots.setMinimumHeight(300)   # below that the four plots are unreadable
        self.results = ResultsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.plots, "Curves")
        results_scroll = QScrollArea()   # its tables and image grid need not fit the dock
        results_scroll.setWidget(self.results)
        results_scroll.setWidgetResizable(True)
        results_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(results_scroll, "Results")
        self.run_list = QListWidget()
        self.run_list.setToolTip("Tick runs to overlay their curves; select one for its results")
        self.save_button = QPushButton("Save weights…")
        self.load_button = QPushButton("Load weights…")
        self.csv_button = QPushButton("Export CSV…")
        self.png_button = QPushButton("Export PNG…")
        self.remove_button = QPushButton("Remove run")
        self.plan_view = PlanView(context, self.form, self, _state_dir())
        self._build_layout()

        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(self.save_checkpoint)
        self.load_button.clicked.connect(self.load_checkpoint)
        self.csv_button.clicked.connect(self.export_csv)
        self.png_button.clicked.connect(self.export_png)
        self.remove_button.clicked.connect(self.remove_selected_run)
        self.run_list.itemChanged.connect(self._on_item_changed)
        self.run_list.currentItemChanged.connect(self._on_current_item)
        self.controller.event.connect(self._on_event)
        self.controller.finished.connect(self._on_run_done)
        self.form.changed.connect(self._save_settings_to_design)
        self.form.dataset.message.connect(self.show_error)
        context.model_event.connect(self._on_model_event)
        context.analysis_changed.connect(self._on_analysis_changed)
        self._load_settings_from_design()
        self._show_design_data(context.analysis)
        self._update_buttons()

    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.form.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width())
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        bar = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            bar.addWidget(b)
        bar.addWidget(self.speed, 1)   # images/s and ETA beside the buttons
        centre = QWidget()
        v = QVBoxLayout(centre)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(bar)
        v.addWidget(self.progress)    # a row of its own: room for "epoch 2/3 · step 223/390"
        v.addWidget(self.plan_view)
        v.addWidget(self.message)
        v.addWidget(self.notice)
        v.addWidget(self.tabs, 1)

        right = QWidget()
        r = QVBoxLayout(right)
        r.setContentsMargins(0, 0, 0, 0)
        r.addWidget(QLabel("Runs (tick to compare)"))
        r.addWidget(self.run_list, 1)
        for b in (self.save_button, self.load_button, self.csv_button, self.png_button,
                  self.remove_button):
            r.addWidget(b)

        # the Train mode takes these three apart into docks (designer/gui/train)
        self.settings_part, self.controls_part, self.runs_part = scroll, centre, right
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(centre)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        split.setSizes([max(scroll.minimumWidth(), self.form.sizeHint().width() + 20), 900, 240])
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(split)

    def sizeHint(self) -> QSize:
        # a dock starts at its widget's size hint: room for two rows of plots
        return QSize(1300, 460)

    # --- start-up work kept off the start-up path ----------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.activate()

    def activate(self) -> None:
        """Once, soon after the window is up: look for the data and the devices."""
        if not self._devices_probed:
            self._devices_probed = True
            QTimer.singleShot(STARTUP_DELAY_MS, self, self._probe)

    def _probe(self) -> None:
        self.form.dataset.activate()
        call_in_background(_probe_devices, self._on_devices, self)

    def _on_devices(self, devices: Any, error: BaseException | None) -> None:
        if error is None and devices:
            self.form.set_devices(list(devices))
        self.plan_view.probe()

    # --- settings <-> design file -----------------------------------------------
    def _save_settings_to_design(self) -> None:
        old = self.context.design.training or {}
        self.context.design.training = {**old, **self.form.design_dict()}

    def _load_settings_from_design(self) -> None:
        data = self.context.design.training
        if isinstance(data, dict):
            cfg = TrainConfig.from_dict(data)
            cfg.data_dir = self.form.dataset.data_dir   # the folder belongs to this machine
            self.form.set_config(cfg)

    @Slot(object)
    def _on_model_event(self, event: Any) -> None:
        if getattr(event, "kind", None) == "reset":
            self._load_settings_from_design()

    def _show_design_data(self, analysis: Any) -> None:
        """1-D and 3-D designs: the dataset box says they train on synthetic data."""
        self.form.dataset.set_design_shape(tuple(analysis.input_shape), analysis.output_shape)

    @Slot(object)
    def _on_analysis_changed(self, _analysis: Any) -> None:
        self._show_design_data(self.context.analysis)
        run = self.current
        changed = run is not None and run.active and not _same_network(self.context.design,
                                                                          run.design)
        if changed:
            self.notice.setText(CHANGED_NOTICE)
            self.notice.show()
        elif self.notice.text() == CHANGED_NOTICE:   # undone back to the trained design
            self._hide_changed_notice()

    def _hide_changed_notice(self) -> None:
        if self.notice.text() == CHANGED_NOTICE:
            self.notice.clear()
            self.notice.hide()

    # --- messages ---------------------------------------------------------------
    @Slot(str)
    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def clear_error(self) -> None:
        self.message.clear()
        self.message.hide()

    def message_text(self) -> str:
        return self.message.text() if self.message.isVisible() or self.message.text() else ""

    # --- run control --------------------------------------------------------------
    @property
    def training(self) -> bool:
        return self.controller.active

    def start(self) -> Run | None:
        if self.controller.active:
            return None
        self.clear_error()
        self.notice.hide()
        analysis = self.context.analysis
        if not analysis.ok:
            where, issue = analysis.all_errors[0]
            self.show_error(f"The design has {analysis.error_count} error(s), so it cannot be "
                            f"trained. First: {where + ': ' if where else ''}{issue.message}")
            return None
        config = self.form.config()
        if not self.plan_view.confirm_start():
            return None
        self.run_starting.emit()
        number = max((r.number for r in self.runs), default=0) + 1
        run = Run(number, config, self.context.design.copy(),
                  PALETTE[(number - 1) % len(PALETTE)])
        self.runs.append(run)
        self.current = run
        self._add_list_item(run)
        self.plots.add_run(run)
        self.progress.setRange(0, 0)
        self.progress.setFormat("starting…")
        self.speed.setText("")
        self.controller.start(run.design, config, run.number)
        self.timer.start()
        self._update_buttons()
        return run

    def toggle_pause(self) -> None:
        run = self.current
        if run is None or not run.active:
            return
        if run.state == "paused":
            self.controller.resume()
            self.pause_button.setText("Resuming…")
        else:
            self.controller.pause()
            self.pause_button.setText("Pausing…")

    def stop(self) -> None:
        if self.controller.active:
            self.controller.stop()
            self.stop_button.setEnabled(False)
            self.progress.setFormat(self.progress.format() + " · stopping…")

    def confirm_close(self) -> bool:
        """Asked when the window closes during training (tests replace this)."""
        what = "Training is running" if self.controller.active else "A download is running"
        answer = QMessageBox.question(
            self, "Stop training?", f"{what}. Stop it and close?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def close_guard(self) -> bool:
        """For window.close_guards: False keeps the window open."""
        if not (self.controller.active or self.form.dataset.downloading):
            return True
        if not self.confirm_close():
            return False
        if not self.shutdown():
            self.show_error("Training did not stop in time; try closing again.")
            return False
        return True

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop the run and any download and join their threads."""
        ok = self.controller.shutdown(timeout_ms)
        ok = self.form.dataset.shutdown(timeout_ms) and ok
        if ok:
            self.timer.stop()
        return ok

    # --- events from the worker (GUI thread, queued) ---------------------------
    def _run(self, number: int) -> Run | None:
        for run in self.runs:
            if run.number == number:
                return run
        return None

    @Slot(int, object)
    def _on_event(self, number: int, event: Any) -> None:
        run = self._run(number)
        if run is None:
            return
        if isinstance(event, Step):
            run.add_step(event)          # drawn by the timer, never per event
        elif isinstance(event, EpochEnd):
            run.add_epoch(event)
        elif isinstance(event, Started):
            run.started = event
            run.state = "running"
            label = event.dataset_label
            if "1-D" in label or "3-D" in label:   # not what the dataset setting says
                self.notice.setText(f"Run {run.number} trains on {label[0].lower()}"
                                    f"{label[1:]}: CIFAR-10 is 2-D.")
                self.notice.show()
            self.plots.set_eval_name("val" if run.config.val_split else "test")
            self._update_item(run)
            self._update_buttons()   # Pause works from the first step
        elif isinstance(event, Paused):
            run.state = "paused" if event.paused else "running"
            self._update_item(run)
            self._update_buttons()
        elif isinstance(event, Finished):
            run.finished = event
        elif isinstance(event, Failed):
            run.message = event.message
            run.state = "failed"
            self.show_error(f"Run {run.number} failed: {event.message}")

    @Slot(object)
    def _on_run_done(self, result: RunResult) -> None:
        run = self._run(result.token)
        if run is None:
            return
        if result.failed:
            run.state, run.message = "failed", result.failed
            if not self.message.isVisible():
                self.show_error(f"Run {run.number} failed: {result.failed}")
        elif run.finished is not None:
            run.state = "stopped" if run.finished.stopped else "finished"
        else:
            run.state = "stopped"
        run.checkpoint = result.checkpoint
        run.samples = result.samples
        self._hide_changed_notice()   # the run is over: nothing is being trained any more
        if result.notes:
            self.notice.setText("; ".join(result.notes))
            self.notice.show()
        if result.state_dict is not None:
            self.context.set_weights(result.state_dict, run.design)
        run.dirty = True
        if not self.controller.active:
            self.timer.stop()
        self._redraw()
        self._show_final_progress(run)
        self._update_item(run)
        self._update_buttons()
        if self._selected_run() is run or self._selected_run() is None:
            self._select(run)
        self.run_finished.emit(run)

    # --- drawing (timer) -------------------------------------------------------------
    def _redraw(self) -> None:
        if self.plots.isVisible():   # hidden (another mode): redrawn when shown again
            self.plots.refresh(self.runs)
        run = self.current
        if run is None or not run.active or run.started is None:
            return
        total = max(1, run.started.epochs * run.started.steps_per_epoch)
        step = run.last_step
        self.progress.setRange(0, total)
        if step is None:
            self.progress.setFormat(f"epoch 1/{run.started.epochs} · loading…")
            return
        self.progress.setValue(min(step.global_step, total))
        paused = " · paused" if run.state == "paused" else ""
        self.progress.setFormat(f"epoch {step.epoch}/{run.started.epochs} · step "
                                f"{step.step}/{run.started.steps_per_epoch}{paused}")
        self.speed.setText(f"{step.images_per_s:,.0f} images/s · ETA {_fmt_eta(step.eta_s)}")

    def _show_final_progress(self, run: Run) -> None:
        self.progress.setRange(0, 100)
        self.progress.setValue(100 if run.state == "finished" else self.progress.value())
        acc = run.final_accuracy
        text = {"finished": "finished", "stopped": "stopped", "failed": "failed"}.get(
            run.state, run.state)
        if acc is not None:
            text += f" · accuracy {100 * acc:.1f}%"
        self.progress.setFormat(f"Run {run.number} {text}")
        if run.state != "finished":
            self.progress.setValue(0)
        step = run.last_step
        self.speed.setText(f"{step.images_per_s:,.0f} images/s" if step is not None else "")

    def _update_buttons(self) -> None:
        active = self.controller.active
        run = self.current
        self.start_button.setEnabled(not active)
        self.pause_button.setEnabled(active and run is not None and run.state != "starting")
        self.pause_button.setText("Resume" if run is not None and run.state == "paused"
                                  else "Pause")
        self.stop_button.setEnabled(active)
        sel = self._selected_run()
        self.save_button.setEnabled(sel is not None and sel.checkpoint is not None)
        self.remove_button.setEnabled(sel is not None and not sel.active)
        self.csv_button.setEnabled(bool(self.runs))
        self.png_button.setEnabled(bool(self.runs))

    # --- run list ------------------------------------------------------------------
    def _add_list_item(self, run: Run) -> None:
        item = QListWidgetItem(run.title())
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        pix = QPixmap(12, 12)
        pix.fill(QColor(run.colour))
        item.setIcon(QIcon(pix))
        item.setData(Qt.ItemDataRole.UserRole, run.number)
        self.run_list.addItem(item)

    def _item(self, run: Run) -> QListWidgetItem | None:
        for i in range(self.run_list.count()):
            item = self.run_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == run.number:
                return item
        return None

    def _update_item(self, run: Run) -> None:
        item = self._item(run)
        if item is not None and item.text() != run.title():
            self.run_list.blockSignals(True)
            item.setText(run.title())
            item.setToolTip(run.title())
            self.run_list.blockSignals(False)
        if self._selected_run() is run:
            self.results.show_run(run)

    def _selected_run(self) -> Run | None:
        item = self.run_list.currentItem()
        return None if item is None else self._run(item.data(Qt.ItemDataRole.UserRole))

    def _select(self, run: Run) -> None:
        item = self._item(run)
        if item is not None:
            self.run_list.setCurrentItem(item)
        self.results.show_run(run)

    def set_run_visible(self, run: Run, visible: bool) -> None:
        item = self._item(run)
        if item is not None:
            item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        run = self._run(item.data(Qt.ItemDataRole.UserRole))
        if run is not None:
            visible = item.checkState() == Qt.CheckState.Checked
            if visible != run.visible:
                run.visible = visible
                run.dirty = True
                self.plots.refresh(self.runs)

    def _on_current_item(self, *_: Any) -> None:
        self.results.show_run(self._selected_run())
        self._update_buttons()

    def remove_selected_run(self) -> None:
        run = self._selected_run()
        if run is None or run.active:
            return
        self.runs.remove(run)
        self.plots.remove_run(run.number)
        item = self._item(run)
        if item is not None:
            self.run_list.takeItem(self.run_list.row(item))
        if self.current is run:
            self.current = None
        self._update_buttons()

    # --- files: checkpoints and exports (see files.py) --------------------------
    def ask_save_path(self, title: str, filters: str, suggested: str) -> str:
        """The save dialog (tests replace this)."""
        return QFileDialog.getSaveFileName(self, title, suggested, filters)[0]

    def ask_open_path(self, title: str, filters: str) -> str:
        """The open dialog (tests replace this)."""
        return QFileDialog.getOpenFileName(self, title, "", filters)[0]

    def save_checkpoint(self) -> bool:
        return files.save_checkpoint(self, self._selected_run())

    def load_checkpoint(self) -> None:
        files.load_checkpoint(self)

    def export_csv(self) -> bool:
        return files.export_csv(self)

    def export_png(self) -> bool:
        return files.export_png(self)

    def add_loaded_run(self, run: Run) -> None:
        self.runs.append(run)
        self._add_list_item(run)
        self.plots.add_run(run)
        self.plots.refresh(self.runs)
        self._select(run)
        self._update_buttons()

    def next_run_number(self) -> int:
        return max((r.number for r in self.runs), default=0) + 1
