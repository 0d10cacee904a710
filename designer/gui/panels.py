"""The panels that stand on the training engine: Training (bottom, beside Summary)
and Receptive field (right, beside Formulas). Kept out of MainWindow itself so the
designer window works, and its tests run, without them."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget

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
    training_dock = window.add_panel("Training", training, Qt.BottomDockWidgetArea,
                                     tabify_with=window.summary_dock)
    window.close_guards.append(training.close_guard)

    rf = ReceptiveFieldView(window.context, data_dir=training.form.dataset.data_dir)
    rf_dock = window.add_panel("Receptive field", rf, Qt.RightDockWidgetArea,
                               tabify_with=window.formulas_dock)
    window.close_guards.append(rf.shutdown)   # last: after the user has agreed to close

    def grow_when_shown(visible: bool) -> None:
        # The training plots need more height than the summary table's tab gives.
        if visible and training_dock.height() < TRAINING_DOCK_HEIGHT:
            QTimer.singleShot(0, lambda: window.resizeDocks(
                [training_dock], [TRAINING_DOCK_HEIGHT], Qt.Vertical))
    training_dock.visibilityChanged.connect(grow_when_shown)
    window.panels = Panels(training, training_dock, rf, rf_dock)
    return window.panels
