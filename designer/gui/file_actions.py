"""File handling for the window: new, open, save, recent files, samples,
and the unsaved-changes prompt. Dialogs go through the window's _ask_* and
_show_* methods so tests can replace them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from designer.core.model import Design
from designer.io.design_file import DesignFileError, load, save
from designer.gui.autosave import STATE_ENV, state_dir
from designer.gui.style import SAMPLES

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

ORGANISATION = "CNN Designer"
APPLICATION = "cnn-designer"
MAX_RECENT = 8
JSON_FILTER = "CNN Designer files (*.json);;All files (*)"


def make_settings() -> QSettings:
    """The user's settings; an INI file in the state dir when tests override it."""
    if os.environ.get(STATE_ENV):
        return QSettings(str(state_dir() / "settings.ini"), QSettings.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


def default_sample() -> Path:
    return SAMPLES / "lenet5.json"


class FileActions:
    def __init__(self, window: "MainWindow") -> None:
        self.window = window

    # --- recent files -------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.window.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v]

    def remember(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        self.window.settings.setValue("recent_files", files[:MAX_RECENT])

    def clear_recent(self) -> None:
        self.window.settings.setValue("recent_files", [])

    # --- prompts ------------------------------------------------------------
    def may_discard(self) -> bool:
        """True when the current design may be replaced (saved, discarded or unchanged)."""
        w = self.window
        if not w.is_modified():
            return True
        answer = w._ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    # --- actions ------------------------------------------------------------
    def new(self) -> bool:
        if not self.may_discard():
            return False
        self.window.set_design(Design("Untitled"), None)
        return True

    def open_dialog(self) -> bool:
        if not self.may_discard():
            return False
        path = self.window._ask_open_path()
        return bool(path) and self.open_file(path, ask=False)

    def open_file(self, path: str, ask: bool = True, as_copy: bool = False) -> bool:
        """Load a design; a broken file leaves the current design as it was."""
        if ask and not self.may_discard():
            return False
        try:
            design = load(path)
        except DesignFileError as e:
            self.window._show_error("Cannot open the design", str(e))
            return False
        self.window.set_design(design, None if as_copy else str(Path(path).resolve()))
        if not as_copy:
            self.remember(path)
        self.window.status_message(f"Opened {Path(path).name}")
        return True

    def open_sample(self, path: Path) -> bool:
        """Samples open as untitled copies: Save asks where to put yours."""
        return self.open_file(str(path), as_copy=True)

    def save(self) -> bool:
        path = self.window.file_path
        if path is None:
            return self.save_as()
        return self.save_file(path)

    def save_as(self) -> bool:
        w = self.window
        suggested = w.file_path or f"{_safe_name(w.context.design.name)}.json"
        path = w._ask_save_path("Save design as", JSON_FILTER, suggested)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        return self.save_file(path)

    def save_file(self, path: str) -> bool:
        w = self.window
        try:
            save(w.context.design, path)
        except OSError as e:
            w._show_error("Cannot save the design", f"{path}: {e.strerror or e}")
            return False
        w.file_path = str(Path(path).resolve())
        w.undo_stack.setClean()
        w.autosaver.discard()
        self.remember(path)
        w.update_title()
        w.status_message(f"Saved {Path(path).name}")
        return True


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_ " else "_" for c in name).strip()
    return (keep or "design").replace(" ", "_")
