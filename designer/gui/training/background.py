"""Run a short function off the GUI thread and get its result back in it.

Lifetime rule for every worker: the QObject a worker thread emits on must
outlive the emit. Here that object (_Relay) has no Qt parent, so closing the
window that asked for the job never deletes it under the worker; the job
holds it (in _pending) until the result has been delivered in the GUI thread.
The asker is only watched: if it is gone by then, the result is dropped."""
from __future__ import annotations

import threading
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from designer.gui.lifetimes import collect_in_gui_thread, join_at_exit

Done = Callable[[Any, BaseException | None], None]


class _Relay(QObject):
    """Created in the GUI thread and unparented; the worker's emit is queued to _deliver."""
    ready = Signal(object, object)

    def __init__(self, on_done: Done, owner: QObject | None) -> None:
        super().__init__(None)
        self._on_done: Done | None = on_done
        self._owner = owner
        self._watch_owner = owner is not None
        if owner is not None:
            owner.destroyed.connect(self._owner_gone)
        self.ready.connect(self._deliver)

    @Slot()
    def _owner_gone(self) -> None:
        self._on_done, self._owner = None, None

    def _owner_alive(self) -> bool:
        if not self._watch_owner:
            return True
        return self._owner is not None and shiboken6.isValid(self._owner)

    @Slot(object, object)
    def _deliver(self, result: Any, error: BaseException | None) -> None:
        on_done, alive = self._on_done, self._owner_alive()
        self._on_done, self._owner = None, None
        # let go of it only after this slot has returned: freeing a QObject
        # inside its own event handler is unsafe
        QTimer.singleShot(0, lambda relay=self: _pending.discard(relay))
        if on_done is not None and alive:
            on_done(result, error)


_pending: set[_Relay] = set()   # relays of the jobs still running (keeps them alive)


def pending_count() -> int:
    """Background jobs whose result has not been delivered yet (tests)."""
    return len(_pending)


def call_in_background(fn: Callable[[], Any], on_done: Done,
                       parent: QObject | None = None) -> threading.Thread:
    """fn runs in a daemon thread; on_done(result, error) runs later in the GUI
    thread, unless `parent` (the asker) has been deleted by then."""
    collect_in_gui_thread()   # no cyclic GC in the worker thread
    relay = _Relay(on_done, parent)
    _pending.add(relay)

    def body() -> None:
        try:
            result, error = fn(), None
        except BaseException as e:  # delivered to the GUI, which shows it
            result, error = None, e
        try:
            relay.ready.emit(result, error)   # relay is alive: _pending holds it
        except RuntimeError:   # unless the interpreter is exiting: nobody to tell
            pass

    thread = threading.Thread(target=body, daemon=True, name="designer-background")
    thread.start()
    join_at_exit(thread)
    return thread
