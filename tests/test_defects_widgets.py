"""Widget defects from the new-user walkthrough (issue 12): the mouse wheel over
unfocused spin boxes, clipped fix buttons and palette names, the formula view."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

pytest.importorskip("pyqtgraph")


def wheel(widget: QWidget, notches: int = 3) -> None:
    """A real wheel event over the middle of `widget`, as the pointer gives it."""
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def focus(qtbot, widget: QWidget) -> None:
    widget.window().activateWindow()
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=3000)


def test_wheel_over_an_unfocused_training_setting_leaves_it_alone(qtbot, app_window):
    win = app_window
    win.panels.training_dock.show()
    win.panels.training_dock.raise_()
    lr = win.panels.training.form.lr
    before = lr.value()
    focus(qtbot, win.canvas)
    for target in (lr, lr.lineEdit()):
        wheel(target, -3)
        assert lr.value() == before, "the wheel changed an unfocused box"
    focus(qtbot, lr)
    wheel(lr, 1)
    assert lr.value() != before, "a focused box still takes the wheel"


def test_wheel_over_an_unfocused_parameter_editor_leaves_it_alone(qtbot, app_window):
    win = app_window
    conv = next(lay.id for lay in win.context.design.layers if lay.type == "Conv2d")
    win.context.select(conv)
    box = win.properties.editors["out_channels"].box
    before = box.value()
    focus(qtbot, win.canvas)
    wheel(box, 2)
    assert box.value() == before
    assert win.context.design.layer(conv).params.get("out_channels") == before
    focus(qtbot, box)
    wheel(box, 1)
    assert box.value() == before + 1


def small_window(qtbot, tmp_path, design, size=(1280, 720)):
    from PySide6.QtCore import QSettings

    from designer.gui.main_window import MainWindow
    win = MainWindow(design, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    win._ask_save_changes = lambda: "discard"
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_long_fix_buttons_stay_inside_the_properties_panel(qtbot, tmp_path):
    from designer.core.model import Design
    design = Design("fix")
    design.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3})
    design.add_layer("Linear", {"out_features": 10})   # needs a Flatten: a long fix label
    win = small_window(qtbot, tmp_path, design)
    win.resizeDocks([win.properties_dock], [280], Qt.Orientation.Horizontal)
    win.context.select("fc1")
    props = win.properties
    qtbot.waitUntil(lambda: bool(props.issues.fix_buttons()), timeout=3000)
    qtbot.wait(100)   # the layout settles
    port = props.viewport()
    assert win.properties_dock.width() <= 300, "the fix button widened the panel"
    assert props.widget().width() <= port.width(), "the panel scrolls sideways"
    for button in props.issues.fix_buttons():
        right = button.mapTo(port, button.rect().topRight()).x()
        assert right <= port.width(), f"'{button.text()}' is clipped at {right} > {port.width()}"
        text = button.fontMetrics().horizontalAdvance(button.text())
        assert text + 8 <= button.width(), f"'{button.text()}' does not fit its button"
        assert button.text() == button.full_text or button.text().endswith("…")
    button = props.issues.fix_buttons()[0]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert win.context.analysis.ok


def test_palette_shows_every_name_whole(qtbot, tmp_path):
    from designer.core.model import Design
    win = small_window(qtbot, tmp_path, Design("empty"))
    tree = win.palette.tree
    QApplication.processEvents()
    fm = tree.fontMetrics()
    for item in win.palette.entries():
        rect = tree.visualItemRect(item)
        need = fm.horizontalAdvance(item.text(0)) + tree.iconSize().width() + 8
        assert rect.width() >= need, f"'{item.text(0)}' is cut off ({rect.width()} < {need})"


def test_formulas_write_padding_one_way_and_explain_their_symbols(qtbot):
    from designer.core.analysis import analyse
    from designer.core.model import Design
    from designer.gui.formula_view import layer_html
    design = Design("pad")
    design.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3})                # p = 0
    design.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1})   # p = 1
    design.add_layer("MaxPool2d", {"kernel_size": 2})
    analysis = analyse(design)
    c0, c1, pool = (analysis.layers[i].formulas[0] for i in ("conv1", "conv2", "pool1"))
    assert "+ 2·0 −" in c0 and "+ 2·1 −" in c1 and "+ 2·0 −" in pool
    html = layer_html(analysis.layers["conv2"])
    for words in ("p: padding", "k: kernel size", "s: stride", "d: dilation",
                  "H_out = ⌊(H + 2p − d·(k−1) − 1)/s⌋ + 1"):
        assert words in html
