"""View-menu actions for the canvas's flow direction (issue 12): a left-to-right /
top-to-bottom toggle remembered in the settings, and a fit that picks the
direction in which the design reads best."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

SETTING = "canvas/horizontal"


class CanvasActions:
    def __init__(self, window: "MainWindow") -> None:
        self.window = window
        self.horizontal = QAction("&Left-to-Right Flow", window)
        self.horizontal.setCheckable(True)
        self.horizontal.setShortcut("Ctrl+Shift+L")
        self.horizontal.setStatusTip("Lay the design out left to right instead of top to "
                                     "bottom (remembered)")
        self.fit_best = QAction("Fit in &Best Direction", window)
        self.fit_best.setShortcut("Ctrl+Shift+0")
        self.fit_best.setStatusTip("Fit the design in view, laid out top to bottom or left "
                                   "to right, whichever shows it larger")
        on = str(window.settings.value(SETTING, "false")).lower() == "true"
        self.horizontal.setChecked(on)
        window.canvas.set_horizontal(on, relayout=False)
        if on:
            window.canvas.relayout_unrecorded()
        self.horizontal.toggled.connect(self._toggled)
        self.fit_best.triggered.connect(self._fit_best)
        window.view_menu.addSeparator()
        window.view_menu.addActions([self.horizontal, self.fit_best])

    def _toggled(self, on: bool) -> None:
        self.window.settings.setValue(SETTING, on)
        self.window.canvas.set_horizontal(on)

    def _fit_best(self) -> None:
        self.window.canvas.fit_best_orientation()
        self.horizontal.blockSignals(True)
        self.horizontal.setChecked(self.window.canvas.is_horizontal())
        self.horizontal.blockSignals(False)
        self.window.settings.setValue(SETTING, self.window.canvas.is_horizontal())
