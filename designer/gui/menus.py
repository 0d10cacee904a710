"""The window's actions, menus and toolbar (standard shortcuts)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

from designer.gui import icons
from designer.gui.file_actions import sample_files
from designer.gui.import_dialog import import_model

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow


CHANGED = "2changed()"   # QAction.changed, as receivers() names it


class Actions:
    """Every QAction of the window, by name (tests trigger them directly)."""

    def __init__(self, w: "MainWindow") -> None:
        self.w = w
        files = w.files
        self.new = self._make("&New", files.new, QKeySequence.New, icons.standard("SP_FileIcon"))
        self.open = self._make("&Open…", files.open_dialog, QKeySequence.Open,
                               icons.standard("SP_DialogOpenButton"))
        self.import_model = self._make("&Import PyTorch Model…", lambda: import_model(w))
        self.save = self._make("&Save", files.save, QKeySequence.Save,
                               icons.standard("SP_DialogSaveButton"))
        self.save_as = self._make("Save &As…", files.save_as, QKeySequence.SaveAs)
        self.export_code = self._make("Export &PyTorch Code…", w.export_code, "Ctrl+E",
                                      icons.code_icon())
        self.export_image = self._make("Export &Image (PNG/SVG)…", w.export_image, "Ctrl+Shift+E")
        self.quit = self._make("&Quit", w.close, QKeySequence.Quit)
        self.undo = w.undo_stack.createUndoAction(w, "&Undo")
        self.undo.setShortcut(QKeySequence.Undo)
        self.undo.setIcon(icons.standard("SP_ArrowBack"))
        self.redo = w.undo_stack.createRedoAction(w, "&Redo")
        self.redo.setShortcuts([QKeySequence.Redo, QKeySequence("Ctrl+Y")])
        self.redo.setIcon(icons.standard("SP_ArrowForward"))
        self.cut = self._make("Cu&t", w.cut, QKeySequence.Cut)
        self.copy = self._make("&Copy", w.copy, QKeySequence.Copy)
        self.paste = self._make("&Paste", w.paste, QKeySequence.Paste)
        self.duplicate = self._make("&Duplicate", w.duplicate, "Ctrl+D")
        self.delete = self._make("&Delete", w.delete_selected, QKeySequence.Delete,
                                 icons.standard("SP_TrashIcon"))
        self.select_all = self._make("Select &All", w.select_all, QKeySequence.SelectAll)
        self.zoom_in = self._make("Zoom &In", lambda: w.canvas.zoom_in(), QKeySequence.ZoomIn,
                                  icons.zoom_icon("+"))
        self.zoom_in.setShortcuts([QKeySequence.ZoomIn, QKeySequence("Ctrl+=")])
        self.zoom_out = self._make("Zoom &Out", lambda: w.canvas.zoom_out(), QKeySequence.ZoomOut,
                                   icons.zoom_icon("-"))
        self.zoom_fit = self._make("Zoom to &Fit", lambda: w.canvas.zoom_fit(), "Ctrl+0",
                                   icons.zoom_icon("fit"))
        self.reset_zoom = self._make("&Actual Size", lambda: w.canvas.reset_zoom(),
                                     "Ctrl+Alt+0")   # Ctrl+1/2/3 switch the modes
        self.auto_layout = self._make("Auto-&Layout", lambda: w.canvas.auto_layout(), "Ctrl+L",
                                      icons.layout_icon())
        self.find = self._make("&Find Layer Type…", w.find_layer_type, QKeySequence.Find)
        self.next_error = self._make("Go to Next &Problem", w.select_first_error, "F8")
        self.user_guide = self._make("&User Guide", w.show_user_guide, QKeySequence.HelpContents)
        self.shortcuts = self._make("&Keyboard Shortcuts", w.show_shortcuts, "Ctrl+/")
        self.about = self._make("&About CNN Designer", w.show_about)

    def _make(self, text: str, slot: Callable[[], object], shortcut: object = None,
              icon: QIcon | None = None) -> QAction:
        action = QAction(text, self.w)
        if shortcut is not None:
            action.setShortcut(shortcut if isinstance(shortcut, QKeySequence)
                               else QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(icon)
        tip = text.replace("&", "").rstrip("…")
        if not action.shortcut().isEmpty():
            tip += f" ({action.shortcut().toString(QKeySequence.NativeText)})"
        action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action


def build_menus(w: "MainWindow", a: Actions) -> QMenu:
    """Fill the menu bar; returns the View menu (add_panel adds toggles to it)."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([a.new, a.open, a.import_model])
    recent = file_menu.addMenu("Open &Recent")
    recent.aboutToShow.connect(lambda: _fill_recent(w, recent))
    _fill_recent(w, recent)
    samples = file_menu.addMenu("Sa&mples")
    for path in sample_files():
        act = samples.addAction(_sample_title(path))
        act.setToolTip(str(path))
        act.triggered.connect(lambda _c=False, p=path: w.files.open_sample(p))
    file_menu.addSeparator()
    file_menu.addActions([a.save, a.save_as])
    file_menu.addSeparator()
    file_menu.addActions([a.export_code, a.export_image])
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    edit = bar.addMenu("&Edit")
    edit.addActions([a.undo, a.redo])
    edit.addSeparator()
    edit.addActions([a.cut, a.copy, a.paste, a.duplicate, a.delete])
    edit.addSeparator()
    edit.addActions([a.select_all, a.find, a.next_error])
    view = bar.addMenu("&View")
    view.addActions([a.zoom_in, a.zoom_out, a.zoom_fit, a.reset_zoom])
    view.addSeparator()
    view.addAction(a.auto_layout)
    view.addSeparator()
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([a.user_guide, a.shortcuts])
    help_menu.addSeparator()
    help_menu.addAction(a.about)
    return view


def build_toolbar(w: "MainWindow", a: Actions) -> QToolBar:
    bar = QToolBar("Main toolbar")
    bar.setObjectName("mainToolbar")
    bar.setMovable(False)
    bar.addActions([a.new, a.open, a.save])
    bar.addSeparator()
    bar.addActions([a.undo, a.redo, a.delete])
    bar.addSeparator()
    bar.addActions([a.zoom_in, a.zoom_out, a.zoom_fit, a.auto_layout])
    bar.addSeparator()
    bar.addAction(a.export_code)
    w.addToolBar(bar)
    # after the stack's own signals (connected first) have changed Undo and Redo
    w.undo_stack.indexChanged.connect(lambda _index: drop_repeated_connections(bar))
    return bar


def drop_repeated_connections(bar: QToolBar) -> None:
    """Qt 6.11: a toolbar button connects to its action's changed() again at
    every change of the action (the ActionChanged event re-runs
    QToolButton.setDefaultAction, which does not look for the connection it
    made before). Undo and Redo change at every edit: after a few thousand
    edits, each change ran thousands of slots (~2 ms per edit, growing without
    end). The repeats are dropped: all the connections, then the ones that
    belong are made again, once: the button's (given its action again) and
    an action group's, which keeps its actions exclusive through changed()
    (without it two mode buttons stayed checked). Nothing else connects to
    these signals."""
    for action in bar.actions():
        # made by Qt: the button's two, and an action group's
        if action.receivers(CHANGED) > (3 if action.actionGroup() is not None else 2):
            action.changed.disconnect()
            group = action.actionGroup()
            if group is not None:
                group.removeAction(action)
                group.addAction(action)
            button = bar.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setDefaultAction(action)


def _sample_title(path: Path) -> str:
    import json
    try:
        name = json.loads(path.read_text(encoding="utf-8"))["design"]["name"]
        return f"{name}  ({path.name})"
    except (OSError, ValueError, KeyError, TypeError):
        return path.name


def _fill_recent(w: "MainWindow", menu: QMenu) -> None:
    menu.clear()
    files = w.files.recent_files()
    for n, path in enumerate(files, 1):
        act = menu.addAction(f"&{n} {Path(path).name}")
        act.setToolTip(path)
        act.triggered.connect(lambda _c=False, p=path: w.files.open_file(p))
    if not files:
        menu.addAction("(none)").setEnabled(False)
    else:
        menu.addSeparator()
        menu.addAction("Clear list", w.files.clear_recent)
