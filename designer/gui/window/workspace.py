"""The three modes of the app's window and their default arrangements.

Sizes are fractions of the window (with a floor in pixels), chosen so that at
1280x720 the canvas keeps at least half the window in Design, the curves keep
more than 300 px of height in Train and the whole confusion matrix shows."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from designer.gui.window.modes import ModeManager

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea

MODE_KEYS = ("design", "train", "inspect")


def install_modes(window: "MainWindow", train_page: QWidget) -> ModeManager:
    """The mode bar (Ctrl+1/2/3), View > Reset layout, and the default places of
    the window's docks in each mode. The canvas is the Design and Inspect page."""
    modes = ModeManager(window, window.settings)
    canvas = window.canvas
    modes.add_mode("design", "Design", canvas, "Ctrl+1",
                   "Build the network: palette, canvas, properties, formulas, summary")
    modes.add_mode("train", "Train", train_page, "Ctrl+2",
                   "Train it: settings, live curves, runs and results")
    modes.add_mode("inspect", "Inspect", canvas, "Ctrl+3",
                   "Look inside: receptive fields, feature maps, filters")

    modes.assign("design", "dock_layers", LEFT, 0.14, 180)
    modes.assign("design", "dock_properties", RIGHT, 0.25, 320)
    modes.assign("design", "dock_formulas", below="dock_properties", size=0.42)
    modes.assign("design", "dock_summary", tabify_with="dock_formulas")

    modes.assign("train", "dock_training", LEFT, 0.25, 310)
    modes.assign("train", "dock_design_preview", below="dock_training", size=0.3, minimum=120)
    modes.assign("train", "dock_results", RIGHT, 0.36, 440)
    modes.assign("train", "dock_runs", below="dock_results", size=0.26, minimum=150)

    modes.assign("inspect", "dock_receptive_field", RIGHT, 0.55, 560)
    modes.assign("inspect", "dock_maps_and_filters", BOTTOM, 0.42, 200)
    # the convolution explorer (branch i14), when installed: a tab beside the RF view
    modes.assign("inspect", "explorerDock", tabify_with="dock_receptive_field")

    modes.hide_all_but("design")
    modes.mode_changed.connect(lambda _key: window.reveal_selection())
    window.view_menu.addSeparator()
    for mode in modes.modes.values():
        window.view_menu.addAction(mode.action)
    window.view_menu.addAction(modes.reset_action)
    window.view_menu.addSeparator()
    window.modes = modes
    return modes
