"""Keep a worker thread and the objects it emits on alive until it has ended.

A QThread destroyed while it runs aborts the process, and a worker QObject
freed while its thread still emits on it crashes it. Their owners (panels)
can be deleted at any moment, e.g. when a window closes, so running threads
are held here, independent of any owner, and let go in the GUI thread once
they have finished."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Slot


class _Keeper(QObject):
    def __init__(self) -> None:
        super().__init__(None)
        self.kept: dict[int, tuple[QThread, tuple[Any, ...]]] = {}

    def keep(self, thread: QThread, objects: tuple[Any, ...]) -> None:
        self.kept[id(thread)] = (thread, objects)
        # queued: the sweep runs in the GUI thread, never inside the ending thread
        thread.finished.connect(self.sweep, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def sweep(self) -> None:
        for key, (thread, _objects) in list(self.kept.items()):
            if thread.isFinished():
                thread.wait()
                del self.kept[key]


_keeper: _Keeper | None = None


def keep_until_finished(thread: QThread, *objects: Any) -> None:
    """Call in the GUI thread before thread.start()."""
    global _keeper
    if _keeper is None:
        _keeper = _Keeper()
    _keeper.keep(thread, objects)


def running_count() -> int:
    """Threads held here that have not been let go yet (tests)."""
    return 0 if _keeper is None else len(_keeper.kept)
