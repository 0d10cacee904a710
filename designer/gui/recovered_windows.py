"""Extra windows for recovered designs when several were left by crashed
windows: each opens in a window of its own, kept alive here until closed."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from designer.gui.autosave import Recovery, discard_recovery_file

_windows: list[Any] = []   # top-level windows without a Python owner elsewhere


def open_recovered(beside: Any, rec: Recovery) -> Any:
    """A new window (like the first, with its panels) showing the recovered
    design; its own recovery file takes over before the old one is deleted."""
    from designer.core.model import Design
    from designer.gui.main_window import MainWindow
    from designer.gui.panels import install_panels
    window = MainWindow(Design(rec.design.name), None, settings=beside.settings)
    if beside.panels is not None:
        install_panels(window)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    _windows.append(window)
    window.destroyed.connect(lambda *_: _forget(window))
    window.restore(rec)
    if rec.path is not None:
        discard_recovery_file(rec.path)
    window.show()
    return window


def open_windows() -> list[Any]:
    return list(_windows)


def _forget(window: Any) -> None:
    if window in _windows:
        _windows.remove(window)
