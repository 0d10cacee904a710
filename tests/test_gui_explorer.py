"""The convolution explorer in the app's window (pytest-qt, real widgets):
Help > Examples, following the selection, the arithmetic of a clicked cell
against torch, play/step/scrub, the stand-in, no work while hidden; the
explanations in Properties and Help."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from designer.gui.examples_menu import EXAMPLES, LEARN_KERNEL_TITLE, open_example


def _show_explorer(win, qtbot):
    win.modes.switch("inspect")   # the explorer lives in Inspect mode
    win.explorer_dock.raise_()
    qtbot.waitUntil(lambda: win.explorer._shown, timeout=3000)
    return win.explorer


def test_help_examples_lists_the_learn_kernel_demo_first_then_every_example(app_window) -> None:
    menu = app_window.examples_menu
    actions = [a for a in menu.actions() if not a.isSeparator()]
    assert actions[0].text() == LEARN_KERNEL_TITLE
    assert len(actions) == 1 + len(list(EXAMPLES.glob("*.json")))
    assert all(a.toolTip() for a in actions[1:])   # each says what to look at
    help_titles = [a.text().replace("&", "") for a in menu.parentWidget().actions()]
    assert "Examples" in help_titles and "Layer Reference…" in help_titles


def test_example_opens_and_the_clicked_cell_shows_torch_s_value(app_window, qtbot) -> None:
    win = app_window
    explorer = _show_explorer(win, qtbot)
    with qtbot.waitSignal(explorer.values_ready, timeout=30000):
        assert open_example(win, EXAMPLES / "03_multi_channel.json")
    assert win.context.selected_id == "conv"
    assert "sum over the 3 channels" in win.statusBar().currentMessage()
    spec = explorer.spec
    assert spec is not None and spec.out_size == (3, 3) and spec.in_channels == 3
    explorer.out_channel.setValue(1)
    pos = explorer.canvas.output_cell_centre(2, 1).toPoint()
    qtbot.mouseClick(explorer.canvas, Qt.LeftButton, pos=pos)
    assert explorer.spec.cell(explorer.step_index) == (2, 1)
    math_ = explorer.math
    values = explorer._values
    assert math_.out_channel == 1 and len(math_.channels) == 3
    assert len(math_.channels[0].products) == 9
    assert math_.total == pytest.approx(values.output[1, 2, 1], abs=1e-5)   # torch's value
    text = explorer.arithmetic.toPlainText()
    assert "out[1, 2, 1]" in text and "channel 2:" in text and "(bias)" in text
    assert "untrained weights" in explorer.status.text()


def test_integers_mode_and_the_activation_after_the_layer(app_window, qtbot) -> None:
    win = app_window
    explorer = _show_explorer(win, qtbot)
    open_example(win, EXAMPLES / "12_spatially_separable.json")
    win.context.select("1xk")            # followed by a ReLU
    explorer.values_box.setCurrentIndex(explorer.values_box.findData("integers"))
    explorer.select_cell(0, 0)
    x, weight, bias, _out, source = explorer.current_values()
    assert source == "small integers" and set(np.unique(x)) <= {0, 1, 2, 3}
    assert explorer.math.total == float(explorer.math.total).__round__()   # whole numbers
    text = explorer.arithmetic.toPlainText()
    assert f"ReLU({int(explorer.math.total)})" in text.replace("−", "-")


def test_play_step_and_scrub_move_the_window(app_window, qtbot) -> None:
    win = app_window
    explorer = _show_explorer(win, qtbot)
    open_example(win, EXAMPLES / "07_pool_ceil_mode.json")
    assert explorer.spec.out_size == (3, 3) and explorer.spec.ceil_mode
    explorer.step_button.click()
    assert explorer.step_index == 1
    explorer.back_button.click()
    explorer.back_button.click()
    assert explorer.step_index == 8                         # wraps to the last window
    assert "past edge" in explorer.arithmetic.toPlainText()  # it runs past the edge
    explorer.scrub.setValue(4)
    assert explorer.canvas.picture.cell == (1, 1)
    explorer.play_button.setChecked(True)
    qtbot.waitUntil(lambda: explorer.step_index != 4, timeout=3000)
    explorer.play_button.setChecked(False)
    assert not explorer.timer.isActive()


def test_large_inputs_use_a_labelled_stand_in(app_window, qtbot) -> None:
    win = app_window
    explorer = _show_explorer(win, qtbot)
    open_example(win, EXAMPLES / "08_lenet5.json")
    win.context.select("conv1")                              # 1×28×28
    assert explorer.stand_in_box.isChecked()
    assert explorer.spec.in_size == (8, 8) and explorer.spec.real_size == (28, 28)
    assert "stand-in for the real 28×28" in explorer.settings_label.text()
    explorer.stand_in_size.setValue(12)
    assert explorer.spec.in_size == (12, 12) and explorer.spec.out_size == (12, 12)
    explorer.stand_in_box.setChecked(False)
    assert explorer.spec.in_size == (28, 28)


def test_hidden_explorer_does_no_work(app_window, qtbot) -> None:
    win = app_window
    explorer = win.explorer
    win.formulas_dock.raise_()
    qtbot.waitUntil(lambda: not explorer._shown, timeout=3000)
    open_example(win, EXAMPLES / "10_dilated.json")
    assert explorer._dirty and explorer._pending is None
    assert explorer.spec is None or explorer.spec.rows.dilation == 1
    _show_explorer(win, qtbot)
    assert explorer.spec.rows.dilation == 2 and not explorer._dirty


def test_non_explorable_layer_says_what_to_select(app_window, qtbot) -> None:
    win = app_window
    explorer = _show_explorer(win, qtbot)
    open_example(win, EXAMPLES / "08_lenet5.json")
    win.context.select("fc1")
    assert explorer.spec is None and "Select a Conv2d" in explorer.settings_label.text()
    assert not explorer.controls.isEnabled()


def test_simple_cnn_example_selects_fc1_with_its_fix(app_window) -> None:
    win = app_window
    open_example(win, EXAMPLES / "09_simple_cnn_bug.json")
    errors = win.context.analysis.layers["fc1"].errors
    assert errors and "2048" in errors[0].fix.label


def test_properties_show_the_layer_explanation(app_window, qtbot) -> None:
    from PySide6.QtWidgets import QLabel
    from designer.core.explanations import explanation_for
    from designer.gui.explanation_view import LayerReference
    win = app_window
    open_example(win, EXAMPLES / "11_transposed.json")
    win.context.select("up")
    texts = [lab.text() for lab in win.properties.findChildren(QLabel)]
    assert explanation_for("ConvTranspose2d").computes in texts
    ref = LayerReference(win, select="MaxPool2d")
    qtbot.addWidget(ref)
    assert "return_indices" in ref.text.toPlainText()


def test_rapid_edits_end_with_the_latest_design_s_values(app_window, qtbot) -> None:
    win = app_window
    explorer = _show_explorer(win, qtbot)
    open_example(win, EXAMPLES / "03_multi_channel.json")
    for n in (3, 4, 5):                      # each edit re-analyses; jobs run one at a time
        win.context.design.set_param("conv", "out_channels", n)
        assert explorer._pending is not None
    qtbot.waitUntil(lambda: explorer._values_key == explorer._real_key()
                    and explorer._pending is None, timeout=30000)
    values = explorer._values
    assert values.weight.shape[0] == 5 and explorer.spec.out_channels == 5
    explorer.out_channel.setValue(4)
    explorer.select_cell(1, 1)
    assert explorer.math.total == pytest.approx(values.output[4, 1, 1], abs=1e-5)


def test_values_use_the_last_run_s_weights_when_they_fit(app_window, qtbot) -> None:
    import torch
    from designer.nn.build import build
    win = app_window
    explorer = _show_explorer(win, qtbot)
    with qtbot.waitSignal(explorer.values_ready, timeout=30000):
        open_example(win, EXAMPLES / "01_padding_stride.json")
    module = build(win.context.design)
    state = {k: torch.full_like(v, 0.5) for k, v in module.state_dict().items()}
    with qtbot.waitSignal(explorer.values_ready, timeout=30000):
        win.context.set_weights(state, win.context.design.copy())
    assert "trained weights" in explorer.status.text()
    explorer.select_cell(2, 2)
    math_ = explorer.math
    assert all(p.w == 0.5 for p in math_.channels[0].products) and math_.bias == 0.5
    inside = sum(p.x for p in math_.channels[0].products if p.where == "input")
    assert math_.total == pytest.approx(0.5 * inside + 0.5, abs=1e-6)
