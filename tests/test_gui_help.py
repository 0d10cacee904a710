"""Help: the user guide shown in the app, the keyboard-shortcut list, and the
hint on an empty canvas (offscreen, real widgets)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QTableWidget, QTextBrowser

from designer.core.model import Design
from designer.gui.main_window import MainWindow
from designer.gui.window.help import GUIDE, shortcut_rows


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    monkeypatch.setattr(win, "_ask_save_changes", lambda: "discard")
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_the_guide_has_a_section_per_mode():
    text = GUIDE.read_text(encoding="utf-8")
    for heading in ("## The window and its three modes", "## Design mode", "## Train mode",
                    "## Inspect mode", "## Keyboard shortcuts and gestures"):
        assert f"\n{heading}\n" in text, heading


def test_help_user_guide_opens_the_rendered_guide(qtbot, window):
    assert "F1" in window.actions_.user_guide.shortcut().toString()
    window.actions_.user_guide.trigger()
    dialog = window.findChild(QDialog, "userGuide")
    assert dialog is not None and dialog.isVisible()
    browser = dialog.findChild(QTextBrowser)
    text = browser.toPlainText()
    assert "Design mode" in text and "Train mode" in text and "Inspect mode" in text
    assert "##" not in text                      # rendered Markdown, not the source
    assert browser.document().blockCount() > 50
    window.actions_.user_guide.trigger()         # a second time: the same dialog
    assert len(window.findChildren(QDialog, "userGuide")) == 1


def test_help_menu_lists_guide_and_shortcuts(window):
    help_menu = [m for m in window.menuBar().actions() if m.text() == "&Help"][0].menu()
    texts = [a.text() for a in help_menu.actions()]
    assert "&User Guide" in texts and "&Keyboard Shortcuts" in texts


def test_keyboard_shortcuts_list_panning_and_the_window_shortcuts(qtbot, window):
    window.actions_.shortcuts.trigger()
    dialog = window.findChild(QDialog, "keyboardShortcuts")
    assert dialog is not None and dialog.isVisible()
    table = dialog.findChild(QTableWidget)
    rows = {table.item(i, 1).text(): table.item(i, 0).text() for i in range(table.rowCount())}
    assert "Space" in rows["Pan the canvas"] and "middle" in rows["Pan the canvas"]
    assert rows["Undo"].startswith("Ctrl+Z")
    assert rows["User Guide"] == "F1"
    assert rows["Zoom to Fit"] == "Ctrl+0"


def test_mode_shortcuts_are_listed_in_the_app_window(qtbot, app_window):
    rows = {what: keys for keys, what in shortcut_rows(app_window)}
    assert rows["Design mode"] == "Ctrl+1" and rows["Train mode"] == "Ctrl+2"
    assert rows["Inspect mode"] == "Ctrl+3"
    assert rows["Actual Size"] == "Ctrl+Alt+0"   # Ctrl+1 belongs to the modes now
    app_window.close()


def test_empty_canvas_shows_a_hint_until_a_layer_is_added(qtbot, window):
    hint = window.canvas_hint
    assert not hint.isVisible()                  # the LeNet-5 sample has layers
    window.files.new()
    assert not window.context.design.layers
    qtbot.waitUntil(hint.isVisible, timeout=2000)
    viewport = window.canvas.viewport().geometry()
    assert viewport.contains(hint.geometry())
    bar = window.canvas.verticalScrollBar()   # the hint stays put when the canvas scrolls
    bar.setValue(bar.maximum())
    window.canvas.horizontalScrollBar().setValue(0)
    qtbot.wait(10)
    assert viewport.contains(hint.geometry()), (hint.geometry(), viewport)
    assert "Layers" in hint.text() and "F1" in hint.text()
    window.append_entry("layer", "Conv2d")
    assert window.context.design.layers
    assert not hint.isVisible()
    window.undo_stack.undo()
    assert hint.isVisible()
    window.set_design(Design("Other"), None)
    assert hint.isVisible()
