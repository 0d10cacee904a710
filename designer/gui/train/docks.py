"""The Train mode's parts: the training panel taken apart into docks around
large live curves.

- Training (left): Start / Pause / Stop, progress, messages, then the settings.
- the curves: the mode's central page.
- Results (right): the selected run's summary and whole confusion matrix.
- Runs (right, below Results): the run list and its buttons.
- Design (left, below Training): a small read-only view of the design.

The TrainingPanel object keeps its behaviour (its tests drive it whole); only its
widgets move. It stays, hidden, as the owner of its timer and controller.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QPainter, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (QDockWidget, QFrame, QGraphicsView, QGridLayout, QLabel,
                               QPushButton, QScrollArea, QSizePolicy, QVBoxLayout,
                               QWidget)

from designer.gui.training import TrainingPanel

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

PREVIEW_MARGIN = 12
PREVIEW_MIN_SCALE = 0.4   # below this a whole design is unreadable: it scrolls
PREVIEW_MAX_SCALE = 0.5   # under the canvas's level-of-detail zoom: large type


@dataclass
class TrainDocks:
    page: QWidget              # the curves: the Train mode's central page
    training: QDockWidget      # controls and settings
    results: QDockWidget
    runs: QDockWidget
    preview: QDockWidget


class CurvesPage(QWidget):
    """The live curves. Hidden (another mode) they are not redrawn; shown again,
    they catch up at once."""

    def __init__(self, panel: TrainingPanel) -> None:
        super().__init__()
        self.panel = panel
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(panel.plots, 1)
        panel.plots.show()   # a page taken from a tab widget stays hidden otherwise

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.panel.plots.refresh(self.panel.runs)


class DesignPreview(QGraphicsView):
    """The canvas's scene, read-only: what Start will train. The whole design when
    it fits at a readable size; a tall chain instead fills the width at no less than
    PREVIEW_MIN_SCALE (blocks then draw in their large-type level of detail) and
    scrolls, starting at the input."""

    def __init__(self, scene: object) -> None:
        super().__init__()
        self.setScene(scene)  # type: ignore[arg-type]
        self.setInteractive(False)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setToolTip("The design that Start trains (edit it in the Design mode, Ctrl+1)")
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(100)
        self._fit_timer.timeout.connect(lambda: self.fit(keep_place=True))
        self.scene().changed.connect(self._scene_changed)

    def _scene_changed(self, _regions: object) -> None:
        if self.isVisible():
            self._fit_timer.start()

    def fit(self, keep_place: bool = False) -> None:
        scene = self.scene()
        rect = scene.blocks_rect() if hasattr(scene, "blocks_rect") else scene.itemsBoundingRect()
        if rect.isEmpty():
            return
        rect = QRectF(rect).adjusted(-PREVIEW_MARGIN, -PREVIEW_MARGIN,
                                     PREVIEW_MARGIN, PREVIEW_MARGIN)
        view = self.viewport().size()
        whole = min(view.width() / rect.width(), view.height() / rect.height())
        if whole >= PREVIEW_MIN_SCALE:
            self.setSceneRect(rect)
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            return
        # too small to read whole: fill the width (or the height, left to right) and scroll
        across = view.width() / rect.width() if rect.height() >= rect.width() \
            else view.height() / rect.height()
        scale = max(PREVIEW_MIN_SCALE, min(across, PREVIEW_MAX_SCALE))
        changed = abs(self.transform().m11() - scale) > 1e-6
        self.setSceneRect(rect)
        self.resetTransform()
        self.scale(scale, scale)
        if changed or not keep_place:   # start at the input; a scene edit keeps the place
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())
            self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())

    def scale_now(self) -> float:
        return self.transform().m11()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit(keep_place=True)


def _runs_widget(panel: TrainingPanel) -> QWidget:
    """The run list with its buttons two by two (a column of five is too tall)."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(4, 2, 4, 2)
    label = QLabel("Tick runs to compare their curves; select one for its results")
    label.setWordWrap(True)
    label.setObjectName("muted")
    lay.addWidget(label)
    lay.addWidget(panel.run_list, 1)
    grid = QGridLayout()
    buttons: list[QPushButton] = [panel.save_button, panel.load_button, panel.csv_button,
                                  panel.png_button, panel.remove_button]
    for i, b in enumerate(buttons):
        grid.addWidget(b, i // 2, i % 2)
    lay.addLayout(grid)
    return box


def _training_widget(panel: TrainingPanel) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(4, 2, 4, 2)
    panel.tabs.hide()                 # its pages move: curves to the page, results to a dock
    panel.controls_part.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    lay.addWidget(panel.controls_part)
    lay.addWidget(panel.settings_part, 1)
    return box


def _results_widget(panel: TrainingPanel) -> QWidget:
    panel.results.use_column()
    scroll = QScrollArea()
    scroll.setObjectName("resultsScroll")
    scroll.setWidget(panel.results)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    return scroll


def install_train_docks(window: "MainWindow", panel: TrainingPanel) -> TrainDocks:
    """Take the panel apart into the Train mode's docks (window.add_panel)."""
    for i in range(panel.tabs.count()):
        old = panel.tabs.widget(i)
        if isinstance(old, QScrollArea):
            old.takeWidget()           # the results view, rehoused below
    while panel.tabs.count():          # Curves and Results leave the tab widget
        panel.tabs.removeTab(0)
    page = CurvesPage(panel)
    training = window.add_panel("Training", _training_widget(panel))
    results = window.add_panel("Results", _results_widget(panel))
    runs = window.add_panel("Runs", _runs_widget(panel))
    preview = DesignPreview(window.canvas.design_scene())
    preview_dock = window.add_panel("Design preview", preview)
    panel.setParent(window)
    panel.hide()   # an empty shell now; it keeps the timer, the controller and the runs
    return TrainDocks(page, training, results, runs, preview_dock)


def run_progress(panel: TrainingPanel) -> int | None:
    """The current run's progress in percent, None when no run is active."""
    run = panel.current
    if run is None or not run.active or run.started is None:
        return None
    total = max(1, run.started.epochs * run.started.steps_per_epoch)
    done = run.last_step.global_step if run.last_step is not None else 0
    return min(100, int(100 * done / total))


def show_progress_on(action: QAction, panel: TrainingPanel) -> None:
    """The Train mode's button says how far a run has got ("Train · 42 %"), so a
    run is not forgotten while you design or inspect."""
    title = action.text()

    def update() -> None:
        percent = run_progress(panel)
        text = title if percent is None else f"{title} · {percent} %"
        if action.text() != text:
            action.setText(text)
    panel.timer.timeout.connect(update)
    panel.run_finished.connect(lambda _run: update())
