"""Every edit kind made through the window undoes and redoes to the identical
design file (designer.io.dumps)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from designer.core.report import flow_order
from designer.gui.commands import MoveLayersCommand, disconnect_command
from designer.gui.deferred import flush_scheduled
from designer.io import dumps


@pytest.fixture
def window(app_window):
    return app_window


def _edits(win, qtbot):
    """(label, gesture) pairs covering every kind of edit the window offers."""
    design = win.context.design
    props = win.properties

    def select(lid):
        win.context.select(lid)

    def set_param():
        select("conv1")
        props.editors["out_channels"].box.setValue(10)
        props.editors["out_channels"].box.setValue(12)

    def set_text_param():
        select("pool1")
        props.editors["stride"].edit.setText("1, 2")
        props.editors["stride"].edit.editingFinished.emit()

    def append_layer():
        select("conv2")
        win.palette.tree.itemDoubleClicked.emit(win.palette.find("BatchNorm2d"), 0)

    def insert_template():
        select("relu1")
        win.append_entry("template", "Depthwise separable conv")

    def rename():
        select("fc1")
        props.id_edit.setText("hidden1")
        props.id_edit.editingFinished.emit()

    def freeze():
        select("hidden1")
        props.frozen_box.setChecked(True)

    def design_name():
        select(None)
        props.name_edit.setText("Edited")
        props.name_edit.editingFinished.emit()

    def input_size():
        select(None)
        props.input_boxes["channels"].setValue(1)

    def add_and_connect():
        select("relu2")
        win.append_entry("layer", "Add")
        win.canvas.design_scene().connect_blocks("conv2", win.context.selected_id)

    def disconnect():
        add = win.context.selected_id
        win.undo_stack.push(disconnect_command(design, "conv2", add))

    def move():
        old = design.layer("conv1").position
        new = (0.0, 0.0) if old is None else (old[0] + 50.0, old[1] + 10.0)
        win.undo_stack.push(MoveLayersCommand(design, {"conv1": (old, new)}))

    def delete():
        select("relu4")
        win.delete_selected()

    def copy_paste():
        select("fc2")
        win.copy()
        win.paste()

    def duplicate():
        select("pool2")
        win.duplicate()

    def cut():
        select(win.context.selected_id)
        win.cut()

    def break_and_fix():
        select("conv2")
        props.editors["groups"].box.setValue(5)
        assert win.context.analysis.layers["conv2"].errors
        flush_scheduled()   # the issue rows follow at the next turn of the event loop
        qtbot.mouseClick(props.issues.fix_buttons()[0], Qt.LeftButton)

    def auto_layout():
        win.actions_.auto_layout.trigger()

    return [(f.__name__, f) for f in (
        set_param, set_text_param, append_layer, insert_template, rename, freeze, design_name,
        input_size, add_and_connect, disconnect, move, delete, copy_paste, duplicate, cut,
        break_and_fix, auto_layout)]


def _views_match(win):
    """The canvas and the summary table mirror the model after every step."""
    ids = [lay.id for lay in win.context.design.layers]
    assert set(win.canvas.design_scene().blocks) - {"input"} == set(ids)
    flow = [lay.id for lay in flow_order(win.context.design, win.context.analysis)]
    assert win.summary.summary.ids[:-1] == flow   # data-flow order (issue 12)


def test_undo_redo_every_edit_kind_is_exact(window, qtbot):
    design = window.context.design
    states = [dumps(design)]
    steps = [0]
    for label, gesture in _edits(window, qtbot):
        gesture()
        qtbot.wait(1)
        after = dumps(design)
        assert after != states[-1], f"{label} changed nothing"
        states.append(after)
        steps.append(window.undo_stack.index())
    for n in range(len(states) - 1, 0, -1):
        while window.undo_stack.index() > steps[n - 1]:
            window.undo_stack.undo()
        qtbot.wait(1)
        assert dumps(design) == states[n - 1], f"undo of step {n} differs"
        _views_match(window)
    assert not window.is_modified()
    for n in range(1, len(states)):
        while window.undo_stack.index() < steps[n]:
            window.undo_stack.redo()
        qtbot.wait(1)
        assert dumps(design) == states[n], f"redo of step {n} differs"
        _views_match(window)
    assert window.is_modified()


def test_undo_and_redo_buttons_do_not_gather_connections(window):
    """Qt 6.11 connects a toolbar button to its action's changed() once more at
    each change of the action. Undo and Redo change at every edit, and each
    change ran every connection made so far: edits slowed down without end.
    The buttons still follow the stack."""
    undo, redo = window.actions_.undo, window.actions_.redo
    for _ in range(30):
        window.canvas.design_scene().clearSelection()
        window.append_entry("layer", "ReLU")
        undo.trigger()
        redo.trigger()
    bar = window.modes.bar
    for mode in ("train", "inspect", "design") * 5:
        window.modes.switch(mode)
        checked = [key for key, m in window.modes.modes.items()
                   if bar.widgetForAction(m.action).isChecked()]
        assert checked == [mode]          # the buttons follow their actions
    for action in [undo, redo] + window.modes.bar.actions():
        assert action.receivers("2changed()") <= 3, action.text()
    undo_button, redo_button = (window.toolbar.widgetForAction(a) for a in (undo, redo))
    assert undo_button.isEnabled() and not redo_button.isEnabled()
    assert "ReLU" in undo_button.toolTip() or "ReLU" in undo.text()
    while window.undo_stack.canUndo():
        undo.trigger()
    assert not undo_button.isEnabled() and redo_button.isEnabled()
    assert window.modes.bar.widgetForAction(window.modes.modes["design"].action).isChecked()
