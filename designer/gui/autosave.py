"""Autosave to a recovery file: every 30 s and shortly after each edit batch (at
most DEBOUNCE_MS after the first unsaved edit, even while edits go on)
while there are unsaved changes, and at once when the window loses focus or
a long operation starts. A clean save or close deletes it, so a recovery file
found at start-up means a session ended without one.

Each window has its own recovery file, `recovery/<token>.json`, with a lock
beside it, `<token>.lock`: the owning process id, host and a heartbeat. Only
files whose owner is gone are offered (see orphaned_recoveries), so a second
window or instance never takes, offers or deletes a live one."""
from __future__ import annotations

import copy
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QGuiApplication

from designer.core.model import Design, Layer
from designer.gui.lifetimes import collect_in_gui_thread, join_at_exit
from designer.io.design_file import DesignFileError, from_dict, to_dict, write_text_atomic

STATE_ENV = "CNN_DESIGNER_STATE_DIR"
RECOVERY_DIR = "recovery"
LEGACY_NAME = "recovery.json"    # the single shared file of earlier versions
PERIOD_MS = 30_000
DEBOUNCE_MS = 1_500
HEARTBEAT_MS = 10_000
STALE_S = 600.0   # an owner silent this long is gone, even if its pid is in use again
ASYNC_LAYERS = 1000   # larger designs are written by a thread (timer saves only)

_live_tokens: set[str] = set()   # autosavers of this process that have not stopped


def state_dir() -> Path:
    """Where settings for tests and the recovery files live."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return Path(base or Path.home() / ".cnn-designer")


def recovery_dir() -> Path:
    return state_dir() / RECOVERY_DIR


@dataclass
class Recovery:
    design: Design
    original_path: str | None   # the file the unsaved design came from, if any
    saved_at: str
    path: Path | None = None    # the recovery file itself


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)   # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    code = ctypes.c_ulong()
    try:
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == 259   # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def owner_alive(lock: dict[str, Any] | None, now: float | None = None) -> bool:
    """Whether the lock's owner (a window of some process) still runs."""
    if not isinstance(lock, dict):
        return False
    pid, token, beat = lock.get("pid"), lock.get("token"), lock.get("heartbeat")
    if not isinstance(pid, int) or not isinstance(beat, (int, float)):
        return False
    if pid == os.getpid() and lock.get("host") == socket.gethostname():
        return token in _live_tokens
    fresh = (time.time() if now is None else now) - float(beat) < STALE_S
    if lock.get("host") != socket.gethostname():
        return fresh   # another machine sharing this folder: only the heartbeat tells
    return fresh and pid_alive(pid)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _candidates() -> list[Path]:
    folder = recovery_dir()
    found = sorted(folder.glob("*.json")) if folder.is_dir() else []
    legacy = state_dir() / LEGACY_NAME
    return found + ([legacy] if legacy.is_file() else [])


def orphaned_recoveries() -> list[Recovery]:
    """Recovery files whose owner is gone, oldest first. Damaged ones of a gone
    owner are deleted."""
    found: list[Recovery] = []
    for path in _candidates():
        if owner_alive(_read_json(path.with_suffix(".lock"))):
            continue
        rec = _read_recovery_file(path)
        if rec is None:
            discard_recovery_file(path)
        else:
            found.append(rec)
    return sorted(found, key=lambda r: r.saved_at)


def read_recovery() -> Recovery | None:
    """The newest recovery left by a session that is gone, or None."""
    found = orphaned_recoveries()
    return found[-1] if found else None


def _read_recovery_file(path: Path) -> Recovery | None:
    data = _read_json(path)
    try:
        design = from_dict(data["file"])   # type: ignore[index]
        original = data.get("original_path")   # type: ignore[union-attr]
        return Recovery(design, original if isinstance(original, str) else None,
                        str(data.get("saved_at", "")), path)   # type: ignore[union-attr]
    except (ValueError, KeyError, TypeError, AttributeError, DesignFileError):
        return None


def discard_recovery_file(path: Path) -> None:
    """Delete one recovery file and its lock."""
    for p in (path, path.with_suffix(".lock")):
        try:
            p.unlink()
        except OSError:
            pass


class Autosaver(QObject):
    """Writes the design while `needs_save()` is true; `original()` gives its file path."""

    def __init__(self, design: Design, needs_save: Callable[[], bool],
                 original: Callable[[], str | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.design, self.needs_save, self.original = design, needs_save, original
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.path = recovery_dir() / f"{self.token}.json"
        self.lock_path = self.path.with_suffix(".lock")
        _live_tokens.add(self.token)
        token = self.token
        self.destroyed.connect(lambda *_: _live_tokens.discard(token))
        self.writes = 0
        self._seq = 0            # saves started; a write older than the last one is dropped
        self._written_seq = 0
        self._write_lock = threading.Lock()
        self.dirty = False   # edited since the last write
        self.last_error: str | None = None
        self.period = QTimer(self)
        self.period.setInterval(PERIOD_MS)
        self.period.timeout.connect(self._periodic)
        self.period.start()
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self._timed_save)
        # edits that never pause are still saved DEBOUNCE_MS after the first of them
        self.deadline = QTimer(self)
        self.deadline.setSingleShot(True)
        self.deadline.setInterval(DEBOUNCE_MS)
        self.deadline.timeout.connect(self._timed_save)
        self.heartbeat = QTimer(self)
        self.heartbeat.setInterval(HEARTBEAT_MS)
        self.heartbeat.timeout.connect(self._beat)
        self.heartbeat.start()
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_app_state)

    def edited(self) -> None:
        """Call after each edit batch: saves once the edits pause."""
        self.dirty = True
        self.debounce.start()
        if not self.deadline.isActive():
            self.deadline.start()

    def flush(self) -> bool:
        """Write edits not saved yet now (focus lost, a long operation starts)."""
        if not self.dirty:
            return False
        return self.save_now()

    def save_now(self, wait: bool = True) -> bool:
        """Write now; with wait=False a large design is serialised and written by
        a thread from a snapshot (the GUI thread only copies the layer list)."""
        self.debounce.stop()
        self.deadline.stop()
        if not self.needs_save():
            self.dirty = False
            return False
        self.dirty = False
        self._seq += 1
        seq, original = self._seq, self.original()
        saved_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        if wait or len(self.design.layers) < ASYNC_LAYERS:
            return self._write(to_dict(self.design), original, saved_at, seq)
        snapshot = _snapshot(self.design)
        collect_in_gui_thread()   # no cyclic GC in the writing thread
        thread = threading.Thread(target=lambda: self._write(to_dict(_design_of(snapshot)),
                                                             original, saved_at, seq),
                                  daemon=True, name="designer-autosave")
        thread.start()
        join_at_exit(thread)   # a recovery file half written at exit is worth finishing
        return True

    def _write(self, file: dict[str, Any], original: str | None, saved_at: str,
               seq: int) -> bool:
        text = json.dumps({"original_path": original, "saved_at": saved_at, "file": file},
                          ensure_ascii=False)
        with self._write_lock:
            if seq <= self._written_seq:   # a newer save or a discard came first
                return False
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._write_lock_file()   # before the file: it must never look orphaned
                write_text_atomic(self.path, text)
            except OSError as e:  # autosave must never interrupt editing
                self.last_error = str(e)
                self.dirty = True
                return False
            self._written_seq = seq
            self.writes += 1
        return True

    def _timed_save(self) -> None:
        self.save_now(wait=False)

    def discard(self) -> None:
        """Delete this window's recovery file (saved or closed cleanly)."""
        self.dirty = False
        self.debounce.stop()
        self.deadline.stop()
        with self._write_lock:   # a write still in flight must not bring it back
            self._written_seq = self._seq
            discard_recovery_file(self.path)

    def stop(self) -> None:
        self.period.stop()
        self.debounce.stop()
        self.deadline.stop()
        self.heartbeat.stop()
        _live_tokens.discard(self.token)

    def _periodic(self) -> None:
        if self.dirty or (self.needs_save() and not self.path.exists()):
            self.save_now(wait=False)

    def _write_lock_file(self) -> None:
        write_text_atomic(self.lock_path, json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "token": self.token,
            "heartbeat": time.time()}))

    def _beat(self) -> None:
        if self.path.exists():
            try:
                self._write_lock_file()
            except OSError as e:
                self.last_error = str(e)

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        if state != Qt.ApplicationState.ApplicationActive:
            self.flush()


def _snapshot(design: Design) -> tuple[Design, list[tuple[Any, ...]]]:
    """What to_dict() reads, taken in the GUI thread as cheaply as possible: the
    layers' fields by reference. The model never changes a params dict or an
    inputs list in place (edits assign new ones), so the references stay valid
    while editing goes on."""
    shell = copy.copy(design)
    shell.training = copy.deepcopy(design.training)
    rows = [(lay.id, lay.type, lay.params, lay.inputs, lay.position, lay.frozen, lay.extra)
            for lay in design.layers]
    return shell, rows


def _design_of(snapshot: tuple[Design, list[tuple[Any, ...]]]) -> Design:
    """The snapshot as a design again (in the writing thread)."""
    shell, rows = snapshot
    shell.layers = [Layer(*row) for row in rows]
    return shell
