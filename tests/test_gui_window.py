"""The designer window driven through its real widgets (offscreen)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from designer.core.model import Design
from designer.gui.app import create_window
from designer.gui.deferred import flush_scheduled
from designer.io import dumps


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    win = create_window()
    monkeypatch.setattr(win, "_ask_save_changes", lambda: "discard")
    monkeypatch.setattr(win, "_show_error", lambda title, text: pytest.fail(text))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _flush(win, qtbot):
    qtbot.wait(1)
    win.canvas.design_scene().flush()


def _summary_row(win, layer_id):
    model = win.summary.summary
    row = model.row_of(layer_id)
    assert row >= 0
    return dict(zip(("id", "type", "output", "params", "MACs", "memory", "rf"),
                    model.rows[row]))


def test_opens_on_lenet_with_all_panels(window):
    assert window.context.design.name == "LeNet-5"
    assert "LeNet-5" in window.windowTitle()
    assert window.file_path is None
    assert not window.is_modified()
    assert window.summary.summary.rowCount() == len(window.context.design.layers) + 1
    assert window.summary.summary.rows[-1][3] == f"{window.context.analysis.total_params:,}"
    assert window.issues_button.text() == "✓ no errors"
    names = {item.text(0) for item in window.palette.entries()}
    assert {"Conv2d", "MaxPool2d", "Add", "Residual block"} <= names


def test_palette_filter_hides_non_matching(window, qtbot):
    qtbot.keyClicks(window.palette.filter, "norm")
    items = window.palette.entries(visible_only=True)
    visible = {i.text(0) for i in items}
    assert {"BatchNorm2d", "GroupNorm", "LayerNorm"} <= visible
    assert all("norm" in (i.text(0) + i.parent().text(0) + i.toolTip(0)).lower() for i in items)
    assert "Conv2d" not in visible and "ReLU" not in visible
    window.palette.filter.setText("b")   # markup in tooltips must not match
    assert "ReLU" not in {i.text(0) for i in window.palette.entries(visible_only=True)}
    window.palette.filter.clear()
    assert len(window.palette.entries(visible_only=True)) == len(window.palette.entries())


def test_palette_double_click_appends_after_selection(window, qtbot):
    design = window.context.design
    window.context.select("conv1")
    item = window.palette.find("BatchNorm2d")
    window.palette.tree.itemDoubleClicked.emit(item, 0)
    new = window.context.selected_id
    assert design.layer(new).type == "BatchNorm2d"
    assert design.layer(new).inputs == ["conv1"]
    assert design.layer("relu1").inputs == [new]
    assert design.index_of(new) == design.index_of("conv1") + 1
    _flush(window, qtbot)
    assert window.canvas.block_item(new).text.shape == "6×28×28"
    assert _summary_row(window, new)["params"] == "12"
    window.undo_stack.undo()   # one macro: layer and rewiring together
    assert new not in design and design.layer("relu1").inputs == ["conv1"]


def test_palette_enter_inserts_template(window, qtbot):
    window.context.select("pool1")
    tree = window.palette.tree
    tree.setCurrentItem(window.palette.find("Residual block"))
    tree.setFocus()
    n = len(window.context.design.layers)
    qtbot.keyClick(tree, Qt.Key_Return)
    design = window.context.design
    assert len(design.layers) > n
    last = window.context.selected_id
    assert design.layer("conv2").inputs == [last]
    assert window.context.analysis.ok


def test_property_edit_updates_canvas_badge_and_summary(window, qtbot):
    window.context.select("conv1")
    editor = window.properties.editors["out_channels"]
    editor.box.setValue(12)
    _flush(window, qtbot)
    assert window.context.design.layer("conv1").params["out_channels"] == 12
    assert window.canvas.block_item("conv1").text.shape == "12×28×28"
    assert _summary_row(window, "conv1")["output"] == "12×28×28"
    assert _summary_row(window, "conv1")["params"] == f"{(5 * 5 * 3 + 1) * 12:,}"
    assert window.is_modified() and window.isWindowModified()
    editor.box.setValue(10)
    editor.box.setValue(9)
    assert window.undo_stack.count() == 1   # consecutive edits of one field merge
    window.undo_stack.undo()
    assert window.context.design.layer("conv1").params["out_channels"] == 6
    assert editor.box.value() == 6
    assert not window.is_modified()


def test_pair_and_padding_editors(window, qtbot):
    window.context.select("conv1")
    kernel = window.properties.editors["kernel_size"]
    kernel.edit.clear()
    qtbot.keyClicks(kernel.edit, "3, 5")
    qtbot.keyClick(kernel.edit, Qt.Key_Return)
    assert window.context.design.layer("conv1").params["kernel_size"] == [3, 5]
    assert window.context.analysis.layers["conv1"].output_shape == (6, 30, 28)
    padding = window.properties.editors["padding"]
    padding.mode.setCurrentText("same")
    padding.mode.activated.emit(padding.mode.currentIndex())
    assert window.context.design.layer("conv1").params["padding"] == "same"
    assert window.context.analysis.layers["conv1"].output_shape == (6, 32, 32)
    assert not padding.text.isEnabled()
    kernel.edit.setText("3 x")   # unreadable: marked, not committed
    qtbot.keyClicks(kernel.edit, "y")
    qtbot.keyClick(kernel.edit, Qt.Key_Return)
    assert kernel.edit.property("invalid") is True
    assert window.context.design.layer("conv1").params["kernel_size"] == [3, 5]


def test_error_is_marked_and_fixed_with_one_click(window, qtbot):
    design = window.context.design
    window.context.select("conv2")
    window.properties.editors["groups"].box.setValue(4)   # 6 input channels: not divisible
    _flush(window, qtbot)
    assert window.issues_button.text().startswith("✗ 1 error")
    assert window.canvas.block_item("conv2").text.errors
    model = window.summary.summary
    row = model.row_of("conv2")
    assert model.data(model.index(row, 0), Qt.BackgroundRole) is not None
    assert "groups" in model.data(model.index(row, 0), Qt.ToolTipRole)
    rows = window.properties.issues.rows
    assert rows and "groups=4" in rows[0].message.text()
    buttons = window.properties.issues.fix_buttons()
    assert buttons
    window.context.select(None)
    qtbot.mouseClick(window.issues_button, Qt.LeftButton)   # status line -> first error
    assert window.context.selected_id == "conv2"
    qtbot.mouseClick(window.properties.issues.fix_buttons()[0], Qt.LeftButton)
    assert window.context.analysis.ok
    assert design.layer("conv2").params["groups"] in (1, 2)
    assert window.issues_button.text() == "✓ no errors"
    window.undo_stack.undo()   # the fix is one undo step
    assert design.layer("conv2").params["groups"] == 4


def test_connect_on_canvas_makes_a_residual_valid(window, qtbot):
    design = window.context.design
    window.context.select("relu1")
    window.append_entry("layer", "Add")
    add_id = window.context.selected_id
    assert design.layer("pool1").inputs == [add_id]
    assert "at least 2 inputs" in window.context.analysis.layers[add_id].errors[0].message
    assert window.canvas.design_scene().connect_blocks("conv1", add_id) is True
    _flush(window, qtbot)
    assert design.layer(add_id).inputs == ["relu1", "conv1"]
    assert window.context.analysis.ok
    assert window.canvas.block_item(add_id).text.shape == "6×28×28"
    assert not window.canvas.block_item(add_id).text.errors
    window.undo_stack.undo()
    assert window.context.analysis.layers[add_id].errors


def test_fix_that_inserts_a_flatten(window, qtbot):
    design = window.context.design
    window.context.select("flatten")
    window.delete_selected()
    assert "flatten" not in design
    assert window.canvas.design_scene().connect_blocks("pool2", "fc1") is True
    errors = window.context.analysis.layers["fc1"].errors
    assert errors and errors[0].fix is not None
    window.context.select("fc1")
    flush_scheduled()   # the issue rows follow at the next turn of the event loop
    qtbot.mouseClick(window.properties.issues.fix_buttons()[0], Qt.LeftButton)
    assert window.context.analysis.ok
    inserted = design.layer("fc1").inputs[0]
    assert design.layer(inserted).type == "Flatten"


def test_rename_frozen_and_design_fields(window, qtbot):
    design = window.context.design
    window.context.select("fc1")
    edit = window.properties.id_edit
    edit.setText("hidden")
    edit.editingFinished.emit()
    assert "hidden" in design and "fc1" not in design
    assert design.layer("relu3").inputs == ["hidden"]
    assert window.context.selected_id == "hidden"
    window.properties.id_edit.setText("conv1")   # taken: refused in place
    window.properties.id_edit.editingFinished.emit()
    assert "hidden" in design and window.properties.rename_problem
    assert "Cannot rename" in window.statusBar().currentMessage()
    window.properties.frozen_box.setChecked(True)
    assert design.layer("hidden").frozen
    assert window.context.analysis.layers["hidden"].frozen_params > 0
    window.context.select(None)
    window.properties.input_boxes["height"].setValue(28)
    window.properties.input_boxes["width"].setValue(28)
    assert design.input.shape == (3, 28, 28)
    assert window.context.analysis.layers["conv1"].output_shape == (6, 24, 24)
    window.properties.name_edit.setText("Tiny LeNet")
    window.properties.name_edit.editingFinished.emit()
    assert design.name == "Tiny LeNet" and "Tiny LeNet" in window.windowTitle()


def test_formula_view_shows_plugged_in_numbers(window):
    window.context.select("conv1")
    flush_scheduled()   # the formulas follow at the next turn of the event loop
    text = window.formulas.toPlainText()
    assert "H_out = ⌊(32 + 2·0 − 1·(5−1) − 1)/1⌋ + 1 = 28" in text
    assert "params = (5·5·3 + 1)·6 = 456" in text
    assert "5×5 input pixels" in text and "jump" in text
    window.context.select("fc1")
    flush_scheduled()
    assert "whole input" in window.formulas.toPlainText()


def test_summary_click_selects_layer(window, qtbot):
    table = window.summary
    row = table.summary.row_of("pool2")
    rect = table.visualRect(table.summary.index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.context.selected_id == "pool2"
    assert window.canvas.selected_ids() == ["pool2"]
    assert window.properties.id_edit.text() == "pool2"


def test_view_menu_toggles_panels_and_add_panel(window):
    from PySide6.QtWidgets import QLabel
    dock = window.add_panel("Extra panel", QLabel("hello"), tabify_with=window.formulas_dock)
    assert dock.objectName() == "dock_extra_panel"
    assert dock.toggleViewAction() in window.view_menu.actions()
    window.summary_dock.toggleViewAction().trigger()
    assert window.summary_dock.isHidden()


def test_close_guards_can_cancel_close(window):
    calls = []
    window.close_guards.append(lambda: calls.append(1) or False)
    assert window.close() is False and window.isVisible()
    window.close_guards.clear()
    assert window.close() is True and calls == [1]


def test_property_editor_covers_every_layer_type(window, qtbot):
    from designer.core.catalogue import all_types
    from designer.gui.param_widgets import TextEditor
    design = window.context.design
    for t in all_types():
        window.context.select("fc3")
        window.append_entry("layer", t.name)
        lid = window.context.selected_id
        assert design.layer(lid).type == t.name
        editors = window.properties.editors
        assert list(editors) == [s.name for s in t.visible_params]
        for spec in t.visible_params:
            assert spec.help in editors[spec.name].toolTip()
            if isinstance(editors[spec.name], TextEditor) and not spec.required:
                # empty text means "default": the key leaves the layer's params
                editors[spec.name].edit.setText("")
                editors[spec.name].edit.editingFinished.emit()
                assert spec.name not in design.layer(lid).params or spec.default is not None
        window.undo_stack.undo()
    assert "fc3" in design


def test_advanced_params_are_folded(window):
    window.context.select("conv1")
    dilation = window.properties.editors["dilation"]
    assert not dilation.isVisibleTo(window.properties)
    fold = dilation.parentWidget().parentWidget()
    fold.button.setChecked(True)
    assert dilation.isVisibleTo(window.properties)
    window.context.select("conv2")   # stays open for the next layer
    assert window.properties.editors["dilation"].isVisibleTo(window.properties)


def test_palette_drag_payload_drops_on_canvas(window):
    from PySide6.QtCore import QPointF
    from designer.gui.canvas.mime import LAYER_MIME, TEMPLATE_MIME
    tree = window.palette.tree
    mime = tree.mimeData([window.palette.find("Dropout")])
    assert bytes(mime.data(LAYER_MIME)).decode() == "Dropout"
    n = len(window.context.design.layers)
    added = window.canvas.handle_drop(mime, QPointF(900, 900))
    assert len(window.context.design.layers) == n + 1
    assert window.context.design.layer(added[0]).type == "Dropout"
    mime = tree.mimeData([window.palette.find("Conv-BN-ReLU")])
    assert bytes(mime.data(TEMPLATE_MIME)).decode() == "Conv-BN-ReLU"


def test_design_level_errors_show_without_selection(window):
    window.set_design(Design("Empty"), None)
    flush_scheduled()   # the issue rows follow at the next turn of the event loop
    assert window.properties.layer_id is None
    rows = window.properties.issues.rows
    assert rows and "no layers" in rows[0].message.text()
    assert window.issues_button.text().startswith("✗ 1 error")
    window.append_entry("layer", "Conv2d")   # from an empty design: after the input
    assert window.context.design.layers[0].inputs == ["input"]
    assert window.context.analysis.ok


def test_design_page_lists_layer_errors_with_fixes(window, qtbot):
    window.context.select("conv2")
    window.properties.editors["groups"].box.setValue(4)
    window.context.select(None)
    flush_scheduled()   # the issue rows follow at the next turn of the event loop
    rows = window.properties.issues.rows
    assert [r.message.text().split(":")[0] for r in rows] == ["conv2"]
    qtbot.mouseClick(window.properties.issues.fix_buttons()[0], Qt.LeftButton)
    assert window.context.analysis.ok
    flush_scheduled()
    assert not window.properties.issues.isVisibleTo(window.properties)


def test_wheel_over_unfocused_spin_box_does_not_edit(window, qtbot):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    window.context.select("conv1")
    box = window.properties.editors["out_channels"].box
    window.palette.filter.setFocus()
    event = QWheelEvent(QPointF(5, 5), QPointF(box.mapToGlobal(QPoint(5, 5))), QPoint(0, 0),
                        QPoint(0, 120), Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(box, event)
    assert box.value() == 6 and window.undo_stack.count() == 0


def test_status_button_walks_through_problems(window, qtbot):
    design = window.context.design
    window.context.select("conv2")
    window.properties.editors["groups"].box.setValue(4)
    from PySide6.QtCore import QPointF
    window.canvas.add_layer_at("ReLU", QPointF(900, 900))   # unconnected: a second error
    assert len({lid for lid, _ in window.context.analysis.all_errors}) >= 2
    window.context.select(None)
    error_ids = {lid for lid, _ in window.context.analysis.all_errors}
    visited = []
    for _ in error_ids:
        qtbot.mouseClick(window.issues_button, Qt.LeftButton)
        visited.append(window.context.selected_id)
    assert set(visited) == error_ids and len(visited) == len(error_ids)
    qtbot.mouseClick(window.issues_button, Qt.LeftButton)
    first = visited[0]
    assert window.context.selected_id == first   # wraps around
    assert design.layer(first) and window.statusBar().currentMessage()


def test_delete_key_in_a_text_field_edits_text_not_the_design(window, qtbot):
    window.context.select("conv1")
    edit = window.properties.id_edit
    edit.setFocus()
    edit.setCursorPosition(0)
    qtbot.keyClick(edit, Qt.Key_Delete)
    assert "conv1" in window.context.design and edit.text() == "onv1"
    window.canvas.setFocus()
    window.canvas.design_scene().clearSelection()
    window.canvas.block_item("relu4").setSelected(True)
    qtbot.keyClick(window.canvas, Qt.Key_Delete)
    assert "relu4" not in window.context.design
