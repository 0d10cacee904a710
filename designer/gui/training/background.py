"""Run a short function off the GUI thread and get its result back in it."""
from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

Done = Callable[[Any, BaseException | None], None]


class _Relay(QObject):
    """Lives in the GUI thread; the worker thread's emit is queued to _deliver."""
    ready = Signal(object, object)

    def __init__(self, on_done: Done, parent: QObject | None) -> None:
        super().__init__(parent)
        self._on_done = on_done
        self.ready.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, result: Any, error: BaseException | None) -> None:
        _pending.discard(self)
        self._on_done(result, error)
        self.deleteLater()


_pending: set[_Relay] = set()


def call_in_background(fn: Callable[[], Any], on_done: Done,
                       parent: QObject | None = None) -> threading.Thread:
    """fn runs in a daemon thread; on_done(result, error) runs later in the GUI thread."""
    relay = _Relay(on_done, parent)
    _pending.add(relay)

    def body() -> None:
        try:
            result, error = fn(), None
        except BaseException as e:  # delivered to the GUI, which shows it
            result, error = None, e
        try:
            relay.ready.emit(result, error)
        except RuntimeError:  # the receiver was deleted (panel closed)
            pass

    thread = threading.Thread(target=body, daemon=True, name="designer-background")
    thread.start()
    return thread
