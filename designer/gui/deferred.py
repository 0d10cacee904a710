"""A panel refresh that runs once for many requests, and only where it is seen.

One user action can change the model several times (a delete that reconnects
the neighbours, a paste of several layers, an undo of either) and each change
re-analyses the design. Panels beside the canvas (issues, palette order,
formulas) showed each intermediate state, which nobody saw: they cost most of
an action. A `Deferred` refresh runs at the next turn of the event loop, before
anything is painted, while its widget is visible; a hidden one (a panel of
another mode, a dock tabbed behind another) refreshes when it is shown again.
"""
from __future__ import annotations

import weakref
from typing import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer, Slot
from PySide6.QtWidgets import QWidget


_scheduled: "weakref.WeakSet[Deferred]" = weakref.WeakSet()


def flush_scheduled() -> None:
    """Run now every refresh that the event loop would run before it next
    paints (tests that check the panels after each action without painting)."""
    for deferred in list(_scheduled):
        if shiboken6.isValid(deferred):
            deferred.flush()
    _scheduled.clear()


class Deferred(QObject):
    def __init__(self, widget: QWidget, refresh: Callable[[], None]) -> None:
        super().__init__(widget)   # owned by the widget: never fires after it is gone
        self.widget = widget
        self._refresh = refresh
        self.pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)
        widget.installEventFilter(self)

    def request(self) -> None:
        """Refresh soon (coalesced with any other request until then)."""
        self.pending = True
        if self.widget.isVisible() and not self._timer.isActive():
            self._timer.start()
            _scheduled.add(self)

    @Slot()
    def flush(self) -> None:
        """Run a pending refresh now."""
        self._timer.stop()
        _scheduled.discard(self)
        if self.pending:
            self.pending = False
            self._refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and self.pending:
            self.flush()   # before its first paint
        return False
