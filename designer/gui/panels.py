"""The panels that stand on the training engine: Training (bottom, beside Summary)
and Receptive field (right, beside Formulas). Kept out of MainWindow itself so the
designer window works, and its tests run, without them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget

from designer.gui.examples_menu import install_help_extras
from designer.gui.inspect.explorer import ConvExplorer
from designer.gui.main_window import MainWindow
from designer.gui.rf.view import ReceptiveFieldView
from designer.gui.training import TrainingPanel

TRAINING_DOCK_HEIGHT = 430


@dataclass
class Panels:
    training: TrainingPanel
    training_dock: QDockWidget
    rf: ReceptiveFieldView
    rf_dock: QDockWidget


def install_panels(window: MainWindow) -> Panels:
    training = TrainingPanel(window.context, settings=window.settings)
    training_dock = window.add_panel("Training", _scrollable(training),
                                     Qt.BottomDockWidgetArea, tabify_with=window.summary_dock)
    window.close_guards.append(training.close_guard)
    training.run_starting.connect(window.before_long_operation)

    rf = ReceptiveFieldView(window.context, data_dir=training.form.dataset.data_dir,
                            shown=False)
    rf_dock = window.add_panel("Receptive field", _scrollable(rf), Qt.RightDockWidgetArea,
                               tabify_with=window.formulas_dock)
    window.close_guards.append(rf.release)   # last: after the user has agreed to close
    rf.set_shown(False)                       # Formulas is the tab on top
    rf_dock.visibilityChanged.connect(rf.set_shown)
    dataset = training.form.dataset
    dataset.status_known.connect(lambda found: found and rf.set_data_dir(dataset.data_dir))

    # Tabbed behind small panels, these two get room when their tab is chosen.
    _grow_when_shown(window, training_dock, TRAINING_DOCK_HEIGHT, Qt.Vertical)
    _grow_when_shown(window, rf_dock, rf.minimumSizeHint().width() + 24, Qt.Horizontal)
    _grow_when_shown(window, rf_dock, rf.sizeHint().height(), Qt.Vertical,
                     keep=lambda: window.height() - 330)   # Properties keeps some room
    window.panels = Panels(training, training_dock, rf, rf_dock)
    install_explorer(window, rf, rf_dock)
    install_help_extras(window)
    return window.panels


def install_explorer(window: MainWindow, rf: ReceptiveFieldView,
                     rf_dock: QDockWidget) -> QDockWidget:
    """The convolution explorer as its own dock ("explorerDock"), tabbed beside the
    Receptive-field panel, using its test images; it works only while on screen."""
    explorer = ConvExplorer(window.context, images=lambda: rf.images)
    dock = window.add_panel("Explorer", explorer, Qt.RightDockWidgetArea, tabify_with=rf_dock)
    dock.setObjectName("explorerDock")
    explorer.set_shown(False)
    dock.visibilityChanged.connect(explorer.set_shown)
    _grow_when_shown(window, dock, 620, Qt.Horizontal)
    _grow_when_shown(window, dock, 560, Qt.Vertical, keep=lambda: window.height() - 330)
    window.explorer, window.explorer_dock = explorer, dock   # type: ignore[attr-defined]
    return dock


def _scrollable(widget: QWidget) -> QScrollArea:
    """A panel's minimum size must not force the window wider than the screen."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    return scroll


def _grow_when_shown(window: MainWindow, dock: QDockWidget, size: int,
                     orientation: Qt.Orientation,
                     keep: Callable[[], int] | None = None) -> None:
    """When the dock's tab comes on screen, make it at least `size` (capped by
    `keep()`) along `orientation`."""
    def grow() -> None:
        if dock.visibleRegion().isEmpty():   # only passed through while tabs were made
            return
        want = size if keep is None else min(size, keep())
        now = dock.height() if orientation == Qt.Vertical else dock.width()
        if now < want:
            window.resizeDocks([dock], [want], orientation)
    # with the dock as context: a window closed meanwhile cancels it
    dock.visibilityChanged.connect(lambda visible: visible and QTimer.singleShot(0, dock, grow))
