"""Worker threads report back while their asker (a panel, a window) is being
deleted: nothing may crash, and a deleted asker hears nothing."""
from __future__ import annotations

import threading
import time

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QApplication, QWidget

from designer.gui.lifetimes import keep_until_finished, running_count
from designer.gui.training.background import call_in_background, pending_count


def test_background_relay_outlives_its_deleted_asker(qtbot):
    """Jobs finish in a tight loop while the widget that asked is deleted."""
    delivered: list[int] = []
    release = threading.Event()
    for round_ in range(20):
        owner = QWidget()
        child = QObject(owner)   # askers are usually children of a window

        def job(i: int = round_) -> int:
            release.wait(2)
            return i

        for _ in range(10):
            call_in_background(job, lambda res, err: delivered.append(res), child)
        release.set()            # the workers emit while the owner is deleted
        shiboken6.delete(owner)
        QApplication.processEvents()
        release.clear()
        assert not shiboken6.isValid(child)
    release.set()
    qtbot.waitUntil(lambda: pending_count() == 0, timeout=5000)
    QApplication.processEvents()
    # a result may arrive only while its asker was alive, never after
    assert all(isinstance(r, int) for r in delivered)


def test_background_result_reaches_a_living_asker(qtbot):
    owner = QObject()
    got: list[tuple[object, object]] = []
    call_in_background(lambda: 41 + 1, lambda res, err: got.append((res, err)), owner)
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert got == [(42, None)]
    boom: list[BaseException | None] = []
    call_in_background(lambda: 1 / 0, lambda res, err: boom.append(err), owner)
    qtbot.waitUntil(lambda: bool(boom), timeout=5000)
    assert isinstance(boom[0], ZeroDivisionError)


def test_deleted_asker_hears_nothing(qtbot):
    owner = QObject()
    go = threading.Event()
    got: list[object] = []
    call_in_background(lambda: go.wait(5), lambda res, err: got.append(res), owner)
    shiboken6.delete(owner)
    go.set()
    qtbot.waitUntil(lambda: pending_count() == 0, timeout=5000)
    QApplication.processEvents()
    assert got == []


class _Emitter(QObject):
    tick = Signal(int)
    done = Signal()

    @Slot()
    def run(self) -> None:
        for i in range(2000):
            self.tick.emit(i)
        self.done.emit()


class _Owner(QObject):
    """Like a panel's controller: holds the thread only through Python attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.thread_ = QThread()
        self.worker = _Emitter()
        self.worker.moveToThread(self.thread_)
        self.thread_.started.connect(self.worker.run)
        self.worker.done.connect(self.thread_.quit)
        self.worker.tick.connect(self._on_tick)
        keep_until_finished(self.thread_, self.worker)
        self.thread_.start()

    @Slot(int)
    def _on_tick(self, _i: int) -> None:
        self.seen += 1


def test_worker_thread_outlives_its_deleted_owner(qtbot):
    """Dropping the owner while its thread emits must not destroy a running QThread."""
    for _ in range(5):
        owner = _Owner()
        time.sleep(0.001)
        shiboken6.delete(owner)
        del owner
        QApplication.processEvents()
    qtbot.waitUntil(lambda: running_count() == 0, timeout=10000)


def test_window_closes_while_background_jobs_report(qtbot, tmp_path, monkeypatch):
    """The app window with its panels closes while jobs asked by its panels finish."""
    from designer.gui.app import create_window
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    for _ in range(3):
        win = create_window()
        monkeypatch.setattr(win, "_ask_save_changes", lambda: "discard")
        win.show()
        release = threading.Event()
        panel = win.panels.training
        for _ in range(20):
            call_in_background(lambda: release.wait(2), lambda res, err: None, panel)
        release.set()
        assert win.close()
        shiboken6.delete(win)
        QApplication.processEvents()
    qtbot.waitUntil(lambda: pending_count() == 0, timeout=5000)


def test_garbage_is_collected_only_in_the_gui_thread(qtbot):
    import gc
    import weakref

    from designer.gui.lifetimes import collect_in_gui_thread
    collect_in_gui_thread()
    assert not gc.isenabled()
    threads: list[str] = []
    gc.callbacks.append(lambda phase, info: phase == "start"
                        and threads.append(threading.current_thread().name))
    try:
        def churn() -> None:
            junk = []
            for _ in range(50_000):   # far past gc's thresholds
                a: list = []
                a.append(a)
                junk.append(a)
                if len(junk) > 100:
                    junk.clear()
        worker = threading.Thread(target=churn, name="churn")
        worker.start()
        worker.join()
        assert "churn" not in threads

        class Node:
            pass
        node = Node()
        node.me = node   # a cycle: only the collector frees it
        gone = weakref.ref(node)
        del node
        qtbot.waitUntil(lambda: gone() is None, timeout=5000)   # the GUI-thread timer did
        assert threads and set(threads) == {threading.main_thread().name}
    finally:
        gc.callbacks.pop()


def test_young_only_holds_older_collections_until_released_or_expired(monkeypatch):
    """While a large analysis is built in a worker only generation 0 is
    collected (older ones would walk its objects again on the GUI thread); a
    hold expires, so a holder that never releases cannot stop collections."""
    from designer.gui import lifetimes
    calls: list[int] = []
    monkeypatch.setattr(lifetimes.gc, "collect", lambda gen=2: calls.append(gen) or 0)
    monkeypatch.setattr(lifetimes.gc, "get_count", lambda: (800, 11, 0))
    monkeypatch.setattr(lifetimes.gc, "get_threshold", lambda: (700, 10, 10))
    lifetimes.young_only(True)
    try:
        lifetimes._collect()
        assert calls == [0]
        calls.clear()
        monkeypatch.setattr(lifetimes, "YOUNG_ONLY_MAX_S", 0.0)   # held too long
        lifetimes._collect()
        assert calls == [0, 1]
    finally:
        lifetimes.young_only(False)
    calls.clear()
    monkeypatch.setattr(lifetimes, "YOUNG_ONLY_MAX_S", 30.0)
    lifetimes._collect()
    assert calls == [0, 1]


def test_a_background_job_running_at_exit_is_waited_for(tmp_path):
    """A daemon job still running when the app exits is finished before the
    interpreter ends (ended mid-way inside C++ code it can abort the process:
    "terminate called without an active exception"); its result goes nowhere."""
    import os
    import subprocess
    import sys
    marker = tmp_path / "finished.txt"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from designer.gui.training.background import call_in_background\n"
        "def job():\n"
        "    time.sleep(1.0)\n"
        f"    Path({str(marker)!r}).write_text('done')\n"
        "call_in_background(job, lambda result, error: None)\n"
        "sys.exit(0)\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join([os.getcwd(), *sys.path]))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "done"
    assert "Traceback" not in done.stderr
