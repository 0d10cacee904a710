"""Stale training state from the new-user walkthrough (issue 12): Pause from the
first step, the "design changed" banner, and File > New forgetting trained weights."""
from __future__ import annotations

import re

import pytest

pytest.importorskip("pyqtgraph")

from designer.gui.commands import SetParamCommand  # noqa: E402
from designer.gui.deferred import flush_scheduled  # noqa: E402
from designer.gui.training import TrainingPanel  # noqa: E402
from conftest import tiny_config  # noqa: E402
from tests.test_gui_training import RUN_TIMEOUT, StepCounter  # noqa: E402
from training_panel_fixtures import lenet_context, training_panel  # noqa: E402,F401

TRAINED = re.compile(r"(?<!un)trained weights")


def start_long_run(qtbot, panel: TrainingPanel):
    counter = StepCounter(panel)
    panel.form.set_config(tiny_config(epochs=200))
    run = panel.start()
    assert run is not None
    qtbot.waitUntil(lambda: counter.steps.get(run.number, 0) >= 1, timeout=RUN_TIMEOUT)
    return run


def test_pause_is_enabled_as_soon_as_the_run_is_running(qtbot, panel):
    panel.run_list.setCurrentItem(None)
    run = start_long_run(qtbot, panel)
    assert run.state == "running"
    assert panel.pause_button.isEnabled()   # without clicking the run in the list
    panel.pause_button.click()
    qtbot.waitUntil(lambda: run.state == "paused", timeout=10_000)
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT):
        panel.stop()


def test_design_changed_banner_goes_when_the_run_ends(qtbot, panel, context):
    start_long_run(qtbot, panel)
    context.design.set_param("fc1", "out_features", 64)
    assert panel.notice.isVisible() and "changed since" in panel.notice.text()
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT):
        panel.stop()
    assert not panel.notice.isVisible()


def test_design_changed_banner_goes_when_the_change_is_undone(qtbot, panel, context, undo_stack):
    stack = undo_stack
    start_long_run(qtbot, panel)
    stack.push(SetParamCommand(context.design, "fc1", "out_features", 64))
    assert panel.notice.isVisible()
    stack.undo()
    assert not panel.notice.isVisible()
    stack.redo()
    assert panel.notice.isVisible()
    with qtbot.waitSignal(panel.run_finished, timeout=RUN_TIMEOUT):
        panel.stop()


def test_file_new_forgets_the_trained_weights_in_the_receptive_field_view(qtbot, app_window):
    import torch

    from designer.nn.build import build
    win = app_window
    rf = win.panels.rf
    win.panels.rf_dock.show()
    win.panels.rf_dock.raise_()
    rf.set_shown(True)
    rf._start()
    design = win.context.design
    first = design.layers[0].id
    win.context.select(first)
    weights = {k: torch.full_like(v, 0.01) for k, v in build(design).state_dict().items()}
    win.context.set_weights(weights, design.copy())
    qtbot.waitUntil(lambda: rf.last_result is not None and rf.last_result.request_id ==
                    rf._request and rf.last_result.weights_label == "trained weights",
                    timeout=30_000)
    assert TRAINED.search(rf.erf_label.text() + rf.filters.caption.text())
    win.files.new()
    assert not win.context.design.layers
    assert win.context.weights is None
    flush_scheduled()   # the panel's redraw, which the event loop runs before painting
    shown = " ".join((rf.header.text(), rf.erf_label.text(), rf.filters.caption.text(),
                      rf.maps.caption.text()))
    assert not TRAINED.search(shown), shown
