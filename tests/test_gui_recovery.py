"""Per-window recovery files: live ones are never offered or deleted by
another window, several orphans are all offered, the periodic timer, focus
loss and long operations write, and the saved file's path comes back."""
from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from designer.gui import autosave
from designer.gui.app import create_window
from designer.gui.autosave import orphaned_recoveries, owner_alive, read_recovery
from designer.gui.recovered_windows import open_windows
from designer.io import dumps, save


@pytest.fixture
def make_window(make_window):
    """conftest's windows without the panels (training, RF): recovery needs the design."""
    return functools.partial(make_window, with_panels=False)


def _edit(win, value=7):
    win.context.select("conv1")
    win.properties.editors["out_channels"].box.setValue(value)


def _crash(win):
    """The window goes away without a clean close: its file stays."""
    win.autosaver.stop()
    win.setParent(None)
    win.deleteLater()


def _no_timers(win):
    for timer in (win.autosaver.debounce, win.autosaver.deadline, win.autosaver.period):
        timer.setInterval(3_600_000)


def test_a_live_window_file_is_neither_offered_nor_deleted(make_window):
    first = make_window()
    _edit(first)
    assert first.autosaver.save_now() and first.autosaver.path.is_file()
    second = make_window()
    second._ask_restore_recovery = lambda rec: pytest.fail("offered a live window's file")
    assert second.offer_recovery() is False
    assert read_recovery() is None
    _edit(second, 9)
    second.autosaver.save_now()
    assert second.close()    # a clean close deletes its own file only
    assert first.autosaver.path.is_file() and not second.autosaver.path.exists()
    assert json.loads(first.autosaver.path.read_text())["file"]["design"]["layers"][0][
        "params"]["out_channels"] == 7


def test_several_orphans_are_all_offered_and_restored(make_window, qtbot):
    crashed = []
    for value in (11, 12):
        win = make_window(register=False)
        _edit(win, value)
        win.autosaver.save_now()
        crashed.append(win.autosaver.path)
        _crash(win)
    qtbot.wait(10)
    fresh = make_window()
    asked = []
    fresh._ask_restore_recovery = lambda rec: asked.append(rec) or True
    assert fresh.offer_recovery() is True
    assert len(asked) == 2
    extra = open_windows()
    assert len(extra) == 1
    for w in extra:
        qtbot.addWidget(w)
        w._ask_save_changes = lambda: "discard"
    values = {w.context.design.layer("conv1").params["out_channels"] for w in [fresh, *extra]}
    assert values == {11, 12}
    assert not any(p.exists() for p in crashed)   # taken over by the restoring windows
    assert fresh.autosaver.path.is_file() and extra[0].autosaver.path.is_file()
    assert fresh.is_modified() and extra[0].is_modified()


def test_later_keeps_and_discard_deletes_only_the_offered_file(make_window, qtbot):
    paths = []
    for value in (21, 22):
        win = make_window(register=False)
        _edit(win, value)
        win.autosaver.save_now()
        paths.append(win.autosaver.path)
        _crash(win)
    qtbot.wait(10)
    fresh = make_window()
    answers = {21: None, 22: False}
    fresh._ask_restore_recovery = lambda rec: answers[
        rec.design.layer("conv1").params["out_channels"]]
    assert fresh.offer_recovery() is False
    assert paths[0].is_file() and not paths[1].exists()
    assert [r.design.layer("conv1").params["out_channels"] for r in orphaned_recoveries()] == [21]


def test_periodic_timer_writes_while_edits_are_unsaved(make_window, qtbot):
    win = make_window()
    _no_timers(win)
    _edit(win)
    QApplication.processEvents()
    assert not win.autosaver.path.exists()
    win.autosaver.period.setInterval(30)
    qtbot.waitUntil(win.autosaver.path.is_file, timeout=3000)
    assert json.loads(win.autosaver.path.read_text())["file"]["design"]["layers"][0][
        "params"]["out_channels"] == 7


def test_recovery_brings_back_the_saved_file_path(make_window, tmp_path, qtbot, samples_dir):
    path = tmp_path / "mine.json"
    save(create_window(with_panels=False).context.design, str(path))
    win = make_window(str(path), register=False)
    _edit(win, 13)
    win.autosaver.save_now()
    edited = dumps(win.context.design)
    _crash(win)
    qtbot.wait(10)
    rec = read_recovery()
    assert rec is not None and rec.original_path == str(path.resolve())
    fresh = make_window()
    fresh._ask_restore_recovery = lambda rec: True
    assert fresh.offer_recovery() is True
    assert fresh.file_path == str(path.resolve())
    assert dumps(fresh.context.design) == edited and fresh.is_modified()
    assert fresh.windowTitle().startswith("mine.json")
    assert fresh.save_file(fresh.file_path)   # Save writes back to the original file
    assert not fresh.autosaver.path.exists()


def test_focus_loss_writes_at_once(make_window, monkeypatch):
    win = make_window()
    _no_timers(win)
    _edit(win)
    assert not win.autosaver.path.exists()
    monkeypatch.setattr(win, "isActiveWindow", lambda: False)
    QApplication.sendEvent(win, QEvent(QEvent.Type.ActivationChange))
    assert win.autosaver.path.is_file()


def test_long_operations_write_first(make_window):
    win = make_window()
    _no_timers(win)
    _edit(win)
    seen = []
    win._show_export_dialog = lambda dialog: seen.append(win.autosaver.path.is_file())
    win.export_code()
    assert seen == [True]


def test_training_start_writes_first(app_window, monkeypatch):
    win = app_window
    _no_timers(win)
    _edit(win)
    seen = []
    panel = win.panels.training
    monkeypatch.setattr(panel.controller, "start",
                        lambda *args: seen.append(win.autosaver.path.is_file()))
    monkeypatch.setattr(panel.timer, "start", lambda *args: None)
    panel.start()
    assert seen == [True]


def test_owner_checks(state):
    host = socket.gethostname()
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    gone_pid = int(done.stdout)
    now = time.time()
    assert not owner_alive({"pid": gone_pid, "host": host, "token": "x", "heartbeat": now})
    assert not owner_alive(None) and not owner_alive({"pid": "1"})
    live = os.getppid()   # a process that runs, not this one
    assert owner_alive({"pid": live, "host": host, "token": "x", "heartbeat": now})
    # a heartbeat silent for too long: the pid may belong to another program now
    assert not owner_alive({"pid": live, "host": host, "token": "x",
                            "heartbeat": now - autosave.STALE_S - 1})
    assert owner_alive({"pid": 1, "host": host + "-elsewhere", "token": "x", "heartbeat": now})
    # this process: only its autosavers that have not stopped
    assert not owner_alive({"pid": os.getpid(), "host": host, "token": "gone", "heartbeat": now})


def test_the_old_shared_file_is_offered_once(make_window, state):
    state.mkdir(parents=True, exist_ok=True)
    donor = create_window(with_panels=False)
    payload = {"original_path": None, "saved_at": "2026-01-01T00:00:00+00:00",
               "file": json.loads(dumps(donor.context.design))}
    (state / autosave.LEGACY_NAME).write_text(json.dumps(payload))
    win = make_window()
    win._ask_restore_recovery = lambda rec: False
    win.offer_recovery()
    assert not (state / autosave.LEGACY_NAME).exists()


def test_damaged_orphan_is_dropped(state):
    folder = state / autosave.RECOVERY_DIR
    folder.mkdir(parents=True)
    (folder / "123-abc.json").write_text("{not json")
    assert orphaned_recoveries() == []
    assert not (folder / "123-abc.json").exists()


def test_large_designs_are_written_by_a_thread_from_a_snapshot(state, qtbot):
    import threading

    from designer.core.model import INPUT_ID, Design, InputSpec, Layer
    from designer.core.serialise import to_dict
    from designer.gui.autosave import ASYNC_LAYERS, Autosaver
    design = Design("big", InputSpec(3, 16, 16))
    design.set_layers([Layer(f"c{i + 1}", "Conv2d", {"out_channels": 4, "kernel_size": 1},
                             [f"c{i}" if i else INPUT_ID]) for i in range(ASYNC_LAYERS + 5)])
    saver = Autosaver(design, lambda: True, lambda: None)
    expected = to_dict(design)
    assert saver.save_now(wait=False)
    design.set_param("c1", "out_channels", 99)   # an edit while the thread writes
    qtbot.waitUntil(lambda: saver.writes == 1, timeout=20_000)
    assert json.loads(saver.path.read_text())["file"] == expected
    saver.save_now(wait=False)
    saver.discard()   # wins over the write still in flight
    for t in threading.enumerate():
        if t.name == "designer-autosave":
            t.join(20)
    assert not saver.path.exists()
    saver.stop()
