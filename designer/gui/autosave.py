"""Autosave to a recovery file: every 30 s and shortly after each edit batch
while there are unsaved changes. A clean save or close deletes it, so a
recovery file found at start-up means the last session ended without one."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from designer.core.model import Design
from designer.io.design_file import DesignFileError, from_dict, to_dict, write_text_atomic

STATE_ENV = "CNN_DESIGNER_STATE_DIR"
RECOVERY_NAME = "recovery.json"
PERIOD_MS = 30_000
DEBOUNCE_MS = 1_500


def state_dir() -> Path:
    """Where settings for tests and the recovery file live."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
    return Path(base or Path.home() / ".cnn-designer")


def recovery_path() -> Path:
    return state_dir() / RECOVERY_NAME


@dataclass
class Recovery:
    design: Design
    original_path: str | None   # the file the unsaved design came from, if any
    saved_at: str


def read_recovery() -> Recovery | None:
    """The recovery left by an earlier session, or None (a damaged one is discarded)."""
    path = recovery_path()
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        design = from_dict(data["file"])
        original = data.get("original_path")
        return Recovery(design, original if isinstance(original, str) else None,
                        str(data.get("saved_at", "")))
    except (OSError, ValueError, KeyError, TypeError, DesignFileError):
        discard_recovery()
        return None


def discard_recovery() -> None:
    try:
        recovery_path().unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass


class Autosaver(QObject):
    """Writes the design while `needs_save()` is true; `original()` gives its file path."""

    def __init__(self, design: Design, needs_save: Callable[[], bool],
                 original: Callable[[], str | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.design, self.needs_save, self.original = design, needs_save, original
        self.writes = 0
        self.last_error: str | None = None
        self.period = QTimer(self)
        self.period.setInterval(PERIOD_MS)
        self.period.timeout.connect(self.save_now)
        self.period.start()
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.save_now)

    def edited(self) -> None:
        """Call after each edit batch: saves once the edits pause."""
        self.debounce.start()

    def save_now(self) -> bool:
        if not self.needs_save():
            return False
        payload: dict[str, Any] = {
            "original_path": self.original(),
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "file": to_dict(self.design),
        }
        path = recovery_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(payload, ensure_ascii=False))
        except OSError as e:  # autosave must never interrupt editing
            self.last_error = str(e)
            return False
        self.writes += 1
        return True

    def stop(self) -> None:
        self.period.stop()
        self.debounce.stop()
