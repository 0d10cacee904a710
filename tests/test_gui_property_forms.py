"""The property editor builds one form per layer type and refills it for each
layer of that type (rebuilding every widget on each selection was most of the
cost of a click); what it shows must be exactly what a new form would show."""
from __future__ import annotations

from designer.core.analysis import Issue
from designer.core.model import Design, InputSpec
from designer.gui.issues_view import IssuesView


def _design() -> Design:
    d = Design("forms", InputSpec(3, 16, 16))
    d.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3}, layer_id="a")
    d.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 5, "padding": 2},
                layer_id="b", frozen=True)
    d.add_layer("ReLU", layer_id="r")
    d.add_layer("Conv2d", {"out_channels": 2, "kernel_size": "x"}, layer_id="bad")
    return d


def test_a_type_s_form_is_built_once_and_shows_each_layer_s_values(app_window):
    win = app_window
    win.set_design(_design(), None)
    props = win.properties
    win.context.select("a")
    form_a, kernel = props.widget().findChildren(type(props.id_edit)), props.editors["kernel_size"]
    assert props.editors["out_channels"].box.value() == 8
    assert not props.frozen_box.isChecked()
    win.context.select("b")
    assert props.editors["kernel_size"] is kernel          # the same widgets, refilled
    assert props.widget().findChildren(type(props.id_edit)) == form_a
    assert props.id_edit.text() == "b"
    assert props.editors["out_channels"].box.value() == 4
    assert props.editors["kernel_size"].edit.text() == "5"
    assert props.frozen_box.isChecked()
    win.context.select("r")                                  # another type: no frozen box
    assert props.frozen_box is None and "kernel_size" not in props.editors
    win.context.select("bad")   # not a number: what a new box shows, not b's value
    assert props.editors["out_channels"].box.value() == 2
    assert props.editors["kernel_size"].edit.text() == "x"
    win.context.select(None)
    assert props.name_edit.text() == "forms"
    assert props.input_boxes["height"].value() == 16


def test_an_edit_goes_to_the_layer_shown_and_a_refused_rename_mark_does_not_follow(
        app_window):
    win = app_window
    win.set_design(_design(), None)
    props = win.properties
    win.context.select("a")
    props.id_edit.setText("b")                # taken: refused and marked
    props.id_edit.editingFinished.emit()
    assert props.id_edit.property("invalid")
    win.context.select("b")
    assert not props.id_edit.property("invalid")
    assert "already exists" not in props.id_edit.toolTip()
    props.editors["out_channels"].box.setValue(6)
    assert win.context.design.layer("b").params["out_channels"] == 6
    assert win.context.design.layer("a").params["out_channels"] == 8
    win.undo_stack.undo()
    assert props.editors["out_channels"].box.value() == 4


def test_issue_rows_are_reused_for_new_issues(qtbot):
    view = IssuesView()
    qtbot.addWidget(view)
    view.show()
    fixed: list[str] = []
    view.show_issues([Issue("error", f"e{i}", None) for i in range(3)],
                     lambda issue: fixed.append(issue.message))
    first = list(view.rows)
    view.show_issues([Issue("warning", "w0", None), Issue("error", "e1", None)],
                     lambda issue: fixed.append(issue.message))
    assert set(view.rows) <= set(first)             # no new widgets
    assert [r.message.text() for r in view.rows] == ["w0", "e1"]
    assert view.rows[0].objectName() == "issue_warning"
    assert sum(not r.isHidden() for r in first) == 2
    assert view.fix_buttons() == []
    view.show_issues([], None)
    assert view.isHidden()
