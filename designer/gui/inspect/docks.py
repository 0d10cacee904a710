"""The Inspect mode's parts: the receptive-field view (right) and, in a dock of
their own under the canvas, its growth chart, feature maps and filters, so
that neither squeezes the other."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDockWidget

from designer.gui.rf.view import ReceptiveFieldView

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow


def install_maps_dock(window: "MainWindow", rf: ReceptiveFieldView) -> QDockWidget:
    """Move the view's Growth / Feature maps / Filters tabs into their own dock."""
    layout = rf.layout()
    if layout is not None:
        layout.removeWidget(rf.tabs)
    rf.tabs.setMinimumHeight(140)
    dock = window.add_panel("Maps and filters", rf.tabs)
    return dock
