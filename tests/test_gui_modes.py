"""The window's modes (Design, Train, Inspect): switching, what each shows, the
arrangements they remember, and the room they give at 1280x720 (offscreen)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QDockWidget

from conftest import one_epoch_config as tiny_config

RUN_TIMEOUT = 90_000
DESIGN_DOCKS = {"dock_layers", "dock_properties", "dock_formulas", "dock_summary"}
TRAIN_DOCKS = {"dock_training", "dock_results", "dock_runs", "dock_design_preview"}
INSPECT_DOCKS = {"dock_receptive_field", "dock_maps_and_filters", "explorerDock"}



@pytest.fixture
def window(app_window):
    yield app_window
    if app_window.isVisible():
        app_window.close()


def shown_docks(window) -> set[str]:
    return {d.objectName() for d in window.findChildren(QDockWidget) if d.isVisible()}


def press(qtbot, window, key: Qt.Key) -> None:
    window.activateWindow()
    qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(10)


def at_720p(qtbot, window) -> None:
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.size().width() == 1280 and window.height() == 720)
    window.modes.reset_layout()
    qtbot.wait(50)


def test_ctrl_1_2_3_switch_modes_and_show_their_docks(qtbot, window):
    modes = window.modes
    assert modes.current == "design"
    assert shown_docks(window) == DESIGN_DOCKS
    assert window.canvas.isVisible()

    press(qtbot, window, Qt.Key.Key_2)
    assert modes.current == "train"
    assert shown_docks(window) == TRAIN_DOCKS
    assert not window.canvas.isVisible()
    assert window.panels.training.plots.isVisible()
    assert window.panels.training.start_button.isVisible()
    assert modes.modes["train"].action.isChecked()

    press(qtbot, window, Qt.Key.Key_3)
    assert modes.current == "inspect"
    assert shown_docks(window) == INSPECT_DOCKS
    assert window.canvas.isVisible()            # layers are picked on the canvas
    assert window.panels.rf.isVisible() and window.panels.rf._shown

    press(qtbot, window, Qt.Key.Key_1)
    assert modes.current == "design"
    assert shown_docks(window) == DESIGN_DOCKS
    assert not window.panels.rf._shown


def test_mode_bar_and_view_menu_carry_the_modes(window):
    titles = [a.text() for a in window.modes.bar.actions()]
    assert titles == ["Design", "Train", "Inspect"]
    view = [a.text() for a in window.view_menu.actions()]
    assert "Reset &Layout" in view and "Train" in view
    window.modes.modes["inspect"].action.trigger()
    assert window.modes.current == "inspect"


def test_each_mode_remembers_its_own_arrangement(qtbot, window):
    modes = window.modes
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.formulas_dock)
    window.summary_dock.hide()
    modes.switch("train")
    window.panels.train.preview.hide()           # the user closes a Train dock
    modes.switch("design")
    assert window.dockWidgetArea(window.formulas_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert window.summary_dock.isHidden()
    modes.switch("train")
    assert window.panels.train.preview.isHidden()
    assert window.panels.train.results.isVisible()


def test_arrangements_persist_across_restarts_and_reset_layout_restores(qtbot, window,
                                                                        monkeypatch):
    from designer.gui.app import create_window
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.formulas_dock)
    window.modes.switch("train")
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.panels.train.runs)
    window.close()

    again = create_window()   # same CNN_DESIGNER_STATE_DIR (the fixture's)
    monkeypatch.setattr(again, "_ask_save_changes", lambda: "discard")
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    try:
        assert again.modes.current == "train"      # it opens in the mode it closed in
        assert again.dockWidgetArea(again.panels.train.runs) == Qt.DockWidgetArea.LeftDockWidgetArea
        again.modes.switch("design")
        assert again.dockWidgetArea(again.formulas_dock) == Qt.DockWidgetArea.LeftDockWidgetArea

        again.modes.reset_action.trigger()         # View > Reset layout
        assert again.dockWidgetArea(again.formulas_dock) == Qt.DockWidgetArea.RightDockWidgetArea
        assert shown_docks(again) == DESIGN_DOCKS
        again.modes.switch("train")
        assert again.dockWidgetArea(again.panels.train.runs) == \
            Qt.DockWidgetArea.RightDockWidgetArea
        assert shown_docks(again) == TRAIN_DOCKS
    finally:
        again.close()


def test_a_dock_added_later_joins_a_mode_with_one_line(qtbot, window):
    from PySide6.QtWidgets import QLabel
    dock = window.add_panel("Convolution explorer", QLabel("explorer"))
    window.modes.assign("inspect", "dock_convolution_explorer",
                        Qt.DockWidgetArea.RightDockWidgetArea, tabify_with="dock_receptive_field")
    window.modes.switch("design")
    assert not dock.isVisible()
    window.modes.switch("inspect")
    assert "dock_convolution_explorer" in {d.objectName() for d in
                                           window.findChildren(QDockWidget) if not d.isHidden()}
    assert dock in window.tabifiedDockWidgets(window.panels.rf_dock)
    window.modes.switch("train")
    assert dock.isHidden()


def test_a_mode_not_shown_does_no_work(qtbot, window, monkeypatch):
    panel, rf = window.panels.training, window.panels.rf
    calls = []
    monkeypatch.setattr(panel.plots, "refresh", lambda runs: calls.append(len(runs)))
    window.modes.switch("design")
    panel._redraw()                      # the run's redraw timer while in Design
    assert calls == []
    window.modes.switch("train")
    assert calls, "the curves catch up when the Train mode shows them"

    window.modes.switch("design")
    window.context.design.set_param("conv1", "out_channels", 8)
    assert rf._stale                     # no chart, overlay or torch work while hidden
    window.modes.switch("inspect")
    qtbot.waitUntil(lambda: not rf._stale, timeout=5000)
    window.context.select("conv1")
    qtbot.waitUntil(lambda: "conv1: RF 5×5" in rf.header.text(), timeout=5000)


def test_design_mode_gives_the_canvas_half_the_window_at_1280x720(qtbot, window):
    at_720p(qtbot, window)
    canvas = window.canvas
    share = canvas.width() * canvas.height() / (window.width() * window.height())
    assert share >= 0.5, share
    assert shown_docks(window) == DESIGN_DOCKS


def test_train_mode_at_1280x720_shows_tall_curves_and_the_whole_confusion_matrix(qtbot, window):
    at_720p(qtbot, window)
    window.modes.switch("train")
    qtbot.wait(50)
    panel = window.panels.training
    assert panel.plots.height() >= 300, panel.plots.height()
    panel.form.set_config(tiny_config())
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT) as done:
        assert panel.start() is not None
    assert done.args[0].state == "finished", panel.message_text()
    qtbot.wait(50)
    assert panel.plots.height() >= 300

    table = panel.results.confusion
    assert table.rowCount() == 10 == table.columnCount()
    assert table.isVisible() and window.panels.train.results.isVisible()
    viewport = table.viewport().rect()
    for i in range(10):
        for j in range(10):
            cell = table.visualRect(table.model().index(i, j))
            assert viewport.contains(cell), (i, j, cell, viewport)
    # and the table itself lies inside what its dock shows (not scrolled away)
    scroll = window.panels.train.results.widget()
    shown = scroll.viewport()
    top_left = table.viewport().mapTo(shown, QPoint(0, 0))
    assert shown.rect().contains(QRect(top_left, table.viewport().size())), \
        (top_left, table.viewport().size(), shown.size())
    # the run list and all its buttons are on screen too
    runs = window.panels.train.runs
    for button in (panel.save_button, panel.load_button, panel.remove_button):
        corner = button.mapTo(window, QPoint(button.width(), button.height()))
        assert button.isVisible() and window.rect().contains(corner), button.text()
    assert runs.isVisible() and panel.run_list.count() == 1


def test_the_first_window_fits_the_screen(qtbot, window):
    from designer.gui.window.screen import fit_to_screen
    window.resize(1400, 900)
    available = QRect(0, 0, 1280, 720)
    geometry = fit_to_screen(window, available)
    assert available.contains(geometry), geometry
    assert geometry.width() >= 1000 and geometry.height() >= 600


def test_a_run_started_from_design_mode_shows_its_progress_on_the_train_button(qtbot, window,
                                                                               monkeypatch):
    panel = window.panels.training
    train_action = window.modes.modes["train"].action
    drawn = []
    original = panel.plots.refresh
    monkeypatch.setattr(panel.plots, "refresh", lambda runs: drawn.append(1) or original(runs))
    panel.form.set_config(tiny_config(epochs=2))
    window.modes.switch("design")
    texts = set()
    train_action.changed.connect(lambda: texts.add(train_action.text()))
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT) as done:
        assert panel.start() is not None
    assert done.args[0].state == "finished", panel.message_text()
    assert any(t.startswith("Train · ") and t.endswith(" %") for t in texts), texts
    assert train_action.text() == "Train"
    assert drawn == []                   # the hidden curves were never redrawn
    window.modes.switch("train")
    assert drawn                         # and catch up when shown
    assert len(panel.plots.curves) == 1
