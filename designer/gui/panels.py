"""The panels that stand on the training engine: the Train mode's docks
(Training, Results, Runs, Design preview, around the live curves) and the
Receptive-field dock of the Inspect mode; then the modes themselves. Kept out of
MainWindow itself so the designer window works, and its tests run, without them."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget

from designer.gui.examples_menu import install_help_extras
from designer.gui.inspect.docks import install_maps_dock
from designer.gui.inspect.explorer import ConvExplorer
from designer.gui.main_window import MainWindow
from designer.gui.rf.view import ReceptiveFieldView
from designer.gui.train.docks import TrainDocks, install_train_docks, show_progress_on
from designer.gui.training import TrainingPanel
from designer.gui.window.modes import ModeManager
from designer.gui.window.workspace import install_modes


@dataclass
class Panels:
    training: TrainingPanel
    training_dock: QDockWidget
    rf: ReceptiveFieldView
    rf_dock: QDockWidget
    maps_dock: QDockWidget
    train: TrainDocks
    modes: ModeManager


def install_panels(window: MainWindow) -> Panels:
    training = TrainingPanel(window.context, settings=window.settings)
    train = install_train_docks(window, training)
    window.close_guards.append(training.close_guard)
    window.first_show_hooks.append(training.activate)
    training.run_starting.connect(window.before_long_operation)

    rf = ReceptiveFieldView(window.context, data_dir=training.form.dataset.data_dir,
                            shown=False)
    rf_dock = window.add_panel("Receptive field", _scrollable(rf))
    maps_dock = install_maps_dock(window, rf)
    window.close_guards.append(rf.release)   # last: after the user has agreed to close
    rf.set_shown(False)                       # the Inspect mode shows it
    rf_dock.visibilityChanged.connect(rf.set_shown)
    dataset = training.form.dataset
    dataset.status_known.connect(lambda found: found and rf.set_data_dir(dataset.data_dir))

    install_explorer(window, rf)   # before the modes, which place it in Inspect
    install_help_extras(window)
    modes = install_modes(window, train.page)
    show_progress_on(modes.modes["train"].action, training)
    window.panels = Panels(training, train.training, rf, rf_dock, maps_dock, train, modes)
    return window.panels


def install_explorer(window: MainWindow, rf: ReceptiveFieldView) -> QDockWidget:
    """The convolution explorer as its own dock ("explorerDock"), tabbed beside the
    Receptive-field panel, using its test images; it works only while on screen."""
    explorer = ConvExplorer(window.context, images=lambda: rf.images)
    dock = window.add_panel("Explorer", explorer, Qt.RightDockWidgetArea)
    dock.setObjectName("explorerDock")
    explorer.set_shown(False)
    dock.visibilityChanged.connect(explorer.set_shown)
    window.explorer, window.explorer_dock = explorer, dock   # type: ignore[attr-defined]
    return dock


def _scrollable(widget: QWidget) -> QScrollArea:
    """A panel's minimum size must not force the window wider than the screen."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    return scroll
