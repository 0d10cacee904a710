"""Help: the user guide (docs/user-guide.md, rendered), the keyboard shortcuts,
and the hint on an empty canvas."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView,
                               QLabel, QTableWidget, QTableWidgetItem, QTextBrowser,
                               QVBoxLayout, QWidget)

from designer.gui.context import DesignContext

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

HINT_PADDING = 10
GUIDE = Path(__file__).resolve().parents[3] / "docs" / "user-guide.md"

# Gestures that no menu shows (the canvas's own mouse and key handling).
GESTURES = [
    ("Space + drag, or middle-button drag", "Pan the canvas"),
    ("Ctrl + mouse wheel", "Zoom the canvas at the pointer"),
    ("Mouse wheel / Shift + wheel", "Scroll the canvas up and down / sideways"),
    ("Drag from the Layers palette", "Add a layer where you drop it (on an arrow: inserted)"),
    ("Double-click or Enter in the palette", "Add the layer after the selected one"),
    ("Drag from an output port to an input port", "Connect two layers"),
    ("Click an arrow, then Delete", "Disconnect two layers"),
    ("Drag on empty canvas", "Select several blocks"),
    ("Double-click a block", "Edit its properties"),
    ("Delete or Backspace", "Delete the selection"),
    ("Right-click", "Canvas menu: delete, select all, auto layout, zoom to fit"),
    ("Click a cell in the output map (Inspect)", "Pick the unit whose receptive field is shown"),
]


def guide_text() -> str:
    try:
        return GUIDE.read_text(encoding="utf-8")
    except OSError:
        return ("# User guide\n\nThe guide (docs/user-guide.md) is not installed with this "
                "copy of CNN Designer. See the project's README.")


def _dialog(window: QWidget, title: str, name: str) -> QDialog:
    dialog = QDialog(window)
    dialog.setObjectName(name)
    dialog.setWindowTitle(title)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    QVBoxLayout(dialog)
    return dialog


def _finish(window: QWidget, dialog: QDialog, width: int, height: int) -> None:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    dialog.layout().addWidget(buttons)
    screen = window.screen()
    if screen is not None:   # never taller or wider than the screen
        room = screen.availableGeometry().size()
        width, height = min(width, room.width() - 40), min(height, room.height() - 60)
    dialog.resize(width, height)


def show_user_guide(window: "MainWindow") -> QDialog:
    dialog = window.findChild(QDialog, "userGuide")
    if not isinstance(dialog, QDialog):
        dialog = _dialog(window, "CNN Designer — User guide", "userGuide")
        browser = QTextBrowser()
        browser.setObjectName("guideBrowser")
        browser.setOpenExternalLinks(True)
        browser.setMarkdown(guide_text())
        dialog.layout().addWidget(browser)
        _finish(window, dialog, 860, 760)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def shortcut_rows(window: "MainWindow") -> list[tuple[str, str]]:
    """(keys, what) for every window action with a shortcut, then the gestures."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        what = action.text().replace("&", "").rstrip("…").strip()
        if action.objectName().startswith("mode_"):
            what += " mode"
        if not keys or not what or what in seen:
            continue
        seen.add(what)
        rows.append((" or ".join(keys), what))
    rows.sort(key=lambda r: r[1].lower())
    return GESTURES + rows   # the gestures first: no menu shows them


def show_shortcuts(window: "MainWindow") -> QDialog:
    dialog = window.findChild(QDialog, "keyboardShortcuts")
    if isinstance(dialog, QDialog):
        dialog.close()
        dialog.deleteLater()   # rebuilt: panels may have added actions since
        dialog.setObjectName("")
    dialog = _dialog(window, "CNN Designer — Keyboard shortcuts and gestures",
                     "keyboardShortcuts")
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2)
    table.setObjectName("shortcutTable")
    table.setHorizontalHeaderLabels(["Keys or gesture", "Does"])
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    for i, (keys, what) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(keys))
        table.setItem(i, 1, QTableWidgetItem(what))
    head = table.horizontalHeader()
    head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    dialog.layout().addWidget(table)
    _finish(window, dialog, 720, 640)
    dialog.show()
    dialog.raise_()
    return dialog


class EmptyCanvasHint(QLabel):
    """A short hint at the foot of an empty canvas; gone once a layer exists.
    A child of the view, not of its viewport: the viewport scrolls its children."""

    TEXT = ("<b>New here?</b> Double-click a layer in the <b>Layers</b> palette to add it, "
            "or drag it onto the canvas. Connect layers by dragging from an output port "
            "to an input port. <b>File › Samples</b> has ready networks; "
            "<b>Help › User Guide</b> (F1) explains the rest.")

    def __init__(self, canvas: Any, context: DesignContext) -> None:
        super().__init__(canvas)
        self.setObjectName("emptyCanvasHint")
        self.canvas = canvas
        self.context = context
        self.setText(self.TEXT)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("QLabel#emptyCanvasHint { background: rgba(255,255,255,225);"
                           " color: #444; border: 1px solid #c8ccd4; border-radius: 6px;"
                           f" padding: {HINT_PADDING}px; }}")
        canvas.installEventFilter(self)
        context.model_event.connect(self._update)
        self._update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._place()
        return False

    def _place(self) -> None:
        """At the top of the view, clear of the input block and the scene's own hint."""
        area = self.canvas.viewport().geometry()
        width = min(520, max(200, area.width() - 40))
        doc = QTextDocument()
        doc.setDefaultFont(self.font())
        doc.setHtml(self.TEXT)
        doc.setTextWidth(width - 2 * HINT_PADDING - 2)
        self.setFixedSize(width, int(doc.size().height()) + 2 * HINT_PADDING + 2)
        self.move(area.x() + (area.width() - width) // 2, area.y() + 16)
        self.raise_()

    def _update(self, _event: object = None) -> None:
        empty = not self.context.design.layers
        if empty:
            self._place()
        self.setVisible(empty)
