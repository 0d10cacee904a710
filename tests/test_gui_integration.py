"""The app's window as users get it: designer, Training and Receptive-field panels
working together (offscreen, synthetic data)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest import one_epoch_config as tiny_config

RUN_TIMEOUT = 90_000



@pytest.fixture
def window(app_window):
    yield app_window
    if app_window.isVisible():
        app_window.close()


def test_window_has_training_and_receptive_field_panels(window):
    panels = window.panels
    assert panels.training_dock.windowTitle() == "Training"
    assert panels.rf_dock.windowTitle() == "Receptive field"
    window.modes.switch("train")
    assert window.dockWidgetArea(panels.training_dock) == Qt.LeftDockWidgetArea
    assert panels.training.start_button.isVisible()
    window.modes.switch("inspect")
    assert window.dockWidgetArea(panels.rf_dock) == Qt.RightDockWidgetArea
    menu_titles = [a.text() for a in window.view_menu.actions()]
    assert "Training" in menu_titles and "Receptive field" in menu_titles
    assert panels.training.context is window.context and panels.rf.context is window.context


def test_panels_do_not_force_the_window_wider_than_a_laptop_screen(window):
    minimum = window.minimumSizeHint()
    assert minimum.width() <= 1280 and minimum.height() <= 720, minimum


def test_training_plots_share_a_narrow_width(qtbot):
    from designer.gui.training.plots import TrainingPlots
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(420, 320)
    plots.show()
    qtbot.waitExposed(plots)
    widths = [p.geometry().width() for p in plots.plots()]
    right_edges = [p.geometry().right() for p in plots.plots()]
    assert min(widths) > 0.3 * plots.width(), widths
    assert max(right_edges) <= plots.width() + 1, (right_edges, plots.width())


def test_trained_weights_reach_the_receptive_field_view_and_close_is_clean(qtbot, window):
    panels = window.panels
    window.modes.switch("train")
    qtbot.waitUntil(lambda: panels.training.plots.height() >= 300, timeout=5000)
    panels.training.form.set_config(tiny_config())
    with qtbot.waitSignal(panels.training.run_finished, timeout=RUN_TIMEOUT) as done:
        run = panels.training.start()
        assert run is not None
    assert done.args[0].state == "finished", panels.training.message_text()
    assert window.context.weights is not None
    window.modes.switch("inspect")
    with qtbot.waitSignal(panels.rf.erf_ready, timeout=30_000,
                          check_params_cb=lambda r: r.weights_label == "trained weights"):
        window.context.select("conv2")
    window.close()
    assert not window.isVisible()
    assert panels.training.controller.thread is None
    assert not panels.rf.runner.thread.isRunning()


def test_closing_during_a_run_asks_and_stops_it(qtbot, window, monkeypatch):
    training = window.panels.training
    training.form.set_config(tiny_config(epochs=200, train_limit=2048))
    run = training.start()
    assert run is not None
    qtbot.waitUntil(lambda: training.controller.thread is not None
                    and training.controller.thread.isRunning(), timeout=RUN_TIMEOUT)
    monkeypatch.setattr(training, "confirm_close", lambda: False)
    window.close()
    assert window.isVisible() and training.training   # the user said no: still training
    monkeypatch.setattr(training, "confirm_close", lambda: True)
    window.close()
    assert not window.isVisible()
    assert training.controller.thread is None and not training.training


def test_receptive_field_view_follows_the_training_data_folder(qtbot, window, tmp_path):
    from test_data_helpers import write_cifar
    root = tmp_path / "data"
    write_cifar(root, test=10)
    panels = window.panels
    window.modes.switch("inspect")
    qtbot.waitUntil(lambda: panels.rf._started, timeout=10_000)
    panels.training.form.dataset.set_data_dir(str(root))
    qtbot.waitUntil(lambda: not panels.rf.images.synthetic, timeout=30_000)
    assert len(panels.rf.images) == 10
    assert str(root) in panels.rf.images.source


def test_hidden_receptive_field_view_waits_for_the_inspect_mode(qtbot, window):
    rf = window.panels.rf
    window.modes.switch("inspect")
    window.modes.switch("design")
    qtbot.wait(20)
    window.context.design.set_param("conv1", "out_channels", 8)
    assert rf._stale                       # no chart, overlay or torch work while hidden
    window.context.design.set_param("conv1", "kernel_size", 3)
    window.modes.switch("inspect")
    qtbot.waitUntil(lambda: not rf._stale, timeout=5000)
    window.context.select("conv1")
    qtbot.waitUntil(lambda: "conv1: RF 3×3" in rf.header.text(), timeout=5000)


STALE_TAB_PROBE = """
import time
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTabBar
from designer.gui.app import create_window
win = create_window()
app = QApplication.instance()
win.resize(1600, 1000)
win.show()
end = time.time() + 1.5
while time.time() < end:
    app.processEvents()
    time.sleep(0.01)
def bars():
    found = win.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly)
    on_screen = [b for b in found if b.isVisible() and win.rect().intersects(b.geometry())]
    return sorted(tuple(b.tabText(i) for i in range(b.count())) for b in on_screen)
# no mode leaves another's tab bar behind, after a first visit, a return or a reset
for mode in ("train", "inspect", "design", "train", "reset", "design", "train", "inspect",
             "design"):
    if mode == "reset":
        win.modes.reset_layout()
    else:
        win.modes.switch(mode)
    end = time.time() + 0.3
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)
    print(mode, bars())
win.panels.training.shutdown()
assert win.panels.rf.shutdown(60_000)
"""


def test_no_stale_tab_bars_are_left_on_screen(tmp_path):
    # In a process of its own, as the app starts (pytest-qt's application hides it).
    import os
    import subprocess
    import sys
    from conftest import ROOT
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               CNN_DESIGNER_STATE_DIR=str(tmp_path / "state"))
    r = subprocess.run([sys.executable, "-c", STALE_TAB_PROBE], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    tabbed = "[('Formulas', 'Summary')]"
    assert r.stdout.strip().splitlines()[-9:] == [
        "train []", "inspect [('Receptive field', 'Explorer')]", f"design {tabbed}", "train []", "reset []",
        f"design {tabbed}", "train []", "inspect [('Receptive field', 'Explorer')]", f"design {tabbed}"], r.stdout
