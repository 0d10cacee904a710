"""Keep a worker thread and the objects it emits on alive until it has ended.

A QThread destroyed while it runs aborts the process, and a worker QObject
freed while its thread still emits on it crashes it. Their owners (panels)
can be deleted at any moment, e.g. when a window closes, so running threads
are held here, independent of any owner, and let go in the GUI thread once
they have finished."""
from __future__ import annotations

import atexit
import gc
import threading
import time
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Slot

EXIT_WAIT_S = 30.0   # in all, when the interpreter exits


class _Keeper(QObject):
    def __init__(self) -> None:
        super().__init__(None)
        self.kept: dict[int, tuple[QThread, tuple[Any, ...], Callable[[], None] | None]] = {}

    def keep(self, thread: QThread, objects: tuple[Any, ...],
             stop: Callable[[], None] | None) -> None:
        self.kept[id(thread)] = (thread, objects, stop)
        # queued: the sweep runs in the GUI thread, never inside the ending thread
        thread.finished.connect(self.sweep, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def sweep(self) -> None:
        for key, (thread, _objects, _stop) in list(self.kept.items()):
            if thread.isFinished():
                thread.wait()
                del self.kept[key]


_keeper: _Keeper | None = None


def keep_until_finished(thread: QThread, *objects: Any,
                        stop: Callable[[], None] | None = None) -> None:
    """Call in the GUI thread before thread.start(). `stop` asks the work to
    end (called, with thread.quit(), if the thread still runs at exit)."""
    global _keeper
    collect_in_gui_thread()
    if _keeper is None:
        _keeper = _Keeper()
        _join_at_exit()
    _keeper.keep(thread, objects, stop)


_daemons: list[threading.Thread] = []   # plain daemon threads, waited for at exit
_exit_hook = {"registered": False}


def _join_at_exit() -> None:
    if not _exit_hook["registered"]:
        _exit_hook["registered"] = True
        atexit.register(_join_all)


def join_at_exit(thread: threading.Thread) -> None:
    """Wait for this daemon thread at exit. A daemon thread still inside C++
    code (a torch op, a Qt call) when the interpreter finalises is ended by
    pthread_exit, whose unwinding through a noexcept C++ frame aborts the
    process ("terminate called without an active exception", seen after a
    test run had passed)."""
    _daemons[:] = [t for t in _daemons if t.is_alive()]
    _daemons.append(thread)
    _join_at_exit()


def _join_all() -> None:
    """At exit a QThread destroyed while it runs aborts the process, and so may
    a daemon thread ended inside C++ code: end them first."""
    deadline = time.monotonic() + EXIT_WAIT_S
    for daemon in list(_daemons):
        if daemon is not threading.current_thread():
            daemon.join(max(0.0, deadline - time.monotonic()))
    if _keeper is None:
        return
    kept = list(_keeper.kept.values())
    for thread, _objects, stop in kept:   # ask them all first, then wait
        try:
            if stop is not None:
                stop()
            thread.quit()
        except RuntimeError:   # already deleted by Qt
            pass
    deadline = time.monotonic() + EXIT_WAIT_S
    for thread, _objects, _stop in kept:
        try:
            thread.wait(max(0, int((deadline - time.monotonic()) * 1000)))
        except RuntimeError:
            pass


def running_count() -> int:
    """Threads held here that have not been let go yet (tests)."""
    return 0 if _keeper is None else len(_keeper.kept)


# --- garbage collection only in the GUI thread ---------------------------------

GC_INTERVAL_MS = 50
_gc_timer: QTimer | None = None


def collect_in_gui_thread() -> None:
    """Python's cyclic garbage collector runs in whichever thread happens to
    allocate. When it frees a Qt wrapper there (a closed window in a reference
    cycle), the widget is destroyed in a worker thread, which crashes Qt
    ("Timers cannot be started from another thread", then a segfault). So once
    worker threads exist, automatic collection is off and a GUI-thread timer
    collects instead (what pyqtgraph's GarbageCollector does). Idempotent;
    call it in the GUI thread."""
    global _gc_timer
    app = QCoreApplication.instance()
    if _gc_timer is not None or app is None or QThread.currentThread() is not app.thread():
        return
    _gc_timer = QTimer(app)
    _gc_timer.setInterval(GC_INTERVAL_MS)
    _gc_timer.timeout.connect(_collect)
    _gc_timer.start()
    gc.disable()


_full = {"at": 0.0, "took": 0.0}   # the last full collection: when, and how long
# holders of young_only() and since when: while held, only generation 0 is
# collected (for at most YOUNG_ONLY_MAX_S: a holder that never releases, e.g. a
# window closed while its worker ran, cannot stop collections for good)
_young_only = {"count": 0, "since": 0.0}
YOUNG_ONLY_MAX_S = 30.0
FULL_SHARE = 0.05                  # of the GUI thread's time, at most
FREEZE_ABOVE_S = 0.03              # a full collection this slow freezes its survivors


def _collect() -> None:
    """gc's own generational thresholds, checked from the GUI thread. A full
    collection walks every object (~50 ms with a 10,000-layer design open);
    Python spaces them out by the heap's growth, which gc.collect() cannot
    see, so here they are spaced out by their own cost instead."""
    c0, c1, c2 = gc.get_count()
    t0, t1, t2 = gc.get_threshold()
    if c0 > t0:
        gc.collect(0)
        held = _young_only["count"] > 0 and \
            time.monotonic() - _young_only["since"] < YOUNG_ONLY_MAX_S
        if c1 > t1 and not held:
            gc.collect(1)
            now = time.monotonic()
            if c2 > t2 and now - _full["at"] >= _full["took"] / FULL_SHARE:
                gc.collect(2)
                _full["at"], _full["took"] = time.monotonic(), time.monotonic() - now
                if _full["took"] > FREEZE_ABOVE_S:
                    # what survived is a large design's long-lived objects: later full
                    # collections skip them (cyclic garbage among them is never freed)
                    gc.freeze()


def young_only(on: bool) -> None:
    """Hold (True) or release (False) older collections: while a worker builds a
    large design's analysis (200,000 objects for 10,000 layers), collecting
    generation 1 would walk them again and again on the GUI thread (50-100 ms
    each); its owner freezes them instead once applied (keep_out_of_collections)."""
    if on and _young_only["count"] == 0:
        _young_only["since"] = time.monotonic()
    _young_only["count"] = max(0, _young_only["count"] + (1 if on else -1))


def keep_out_of_collections() -> None:
    """Call once a large design is loaded and analysed: what exists now is
    long-lived, and full collections skip it from now on (gc.freeze; cyclic
    garbage among it is never freed). Cheap: no collection runs."""
    gc.freeze()


# --- large structures freed later ----------------------------------------------

_later: list[Any] = []


def release_later(obj: Any) -> None:
    """Drop obj in a turn of the event loop of its own (one such object a turn):
    freeing a structure of many Qt values takes tens of ms, which an edit's
    GUI step should not carry."""
    _later.append(obj)
    if len(_later) == 1:
        QTimer.singleShot(0, _release_one)


def _release_one() -> None:
    if _later:
        del _later[0]
    if _later:
        QTimer.singleShot(0, _release_one)
