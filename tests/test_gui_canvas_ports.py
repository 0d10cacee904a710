"""Output ports on the canvas (schema v2): one labelled handle per port, edges
leave from their port, and dragging from a port connects "id:port"."""
from __future__ import annotations

from PySide6.QtCore import QPointF

from designer.core.model import Design, InputSpec
from test_gui_canvas import drag, make_canvas, model_edges, scene_edges


def split_design() -> Design:
    design = Design("ports", InputSpec(12, 8, 8))
    design.add_layer("Split", {"split_size_or_sections": [4, 4, 4]}, layer_id="split")
    design.add_layer("ReLU", inputs=["split:2"], layer_id="r")
    return design


def test_a_block_with_three_ports_shows_three_labelled_handles(qtbot):
    canvas = make_canvas(qtbot, split_design())
    block = canvas.block_item("split")
    assert block.port_labels() == ["0", "1", "2"]
    xs = [block.output_port(i).x() for i in range(3)]
    assert xs == sorted(xs) and len(set(xs)) == 3          # spread left to right
    for i in range(3):
        assert block.output_port_index(block.output_port(i)) == i
        assert block.contains(block.mapFromScene(block.output_port(i)))
    assert canvas.block_item("r").port_labels() == []      # one output: no label


def test_edges_leave_from_their_port(qtbot):
    canvas = make_canvas(qtbot, split_design())
    block = canvas.block_item("split")
    edge = canvas.design_scene().edges[("split:2", "r")]
    start = edge.path().pointAtPercent(0.0)
    assert abs(start.x() - block.output_port(2).x()) < 0.5
    assert scene_edges(canvas) == model_edges(canvas.design_scene().context.design)


def test_dragging_from_port_1_connects_id_colon_1(qtbot):
    design = split_design()
    canvas = make_canvas(qtbot, design)
    new = canvas.add_layer_at("Sigmoid", QPointF(500, 400))
    assert new is not None and design.layer(new).inputs == []
    drag(canvas, canvas.block_item("split").output_port(1), canvas.block_item(new).pos())
    assert design.layer(new).inputs == ["split:1"]
    assert ("split:1", new) in canvas.design_scene().edges
    canvas.undo_stack.undo()
    assert design.layer(new).inputs == []
    assert ("split:1", new) not in canvas.design_scene().edges


def test_pool_indices_port_appears_with_return_indices_and_keeps_its_edges(qtbot):
    design = Design("unpool", InputSpec(3, 8, 8))
    design.add_layer("MaxPool2d", {"kernel_size": 2}, layer_id="pool")
    canvas = make_canvas(qtbot, design)
    assert canvas.block_item("pool").port_labels() == []
    design.set_param("pool", "return_indices", True)
    qtbot.waitUntil(lambda: canvas.block_item("pool").port_labels() == ["out", "indices"])
    design.add_layer("MaxUnpool2d", {"kernel_size": 2}, inputs=["pool", "pool:indices"],
                     layer_id="unpool")
    assert {("pool", "unpool"), ("pool:indices", "unpool")} <= scene_edges(canvas)
    design.rename_layer("pool", "p1")
    assert design.layer("unpool").inputs == ["p1", "p1:indices"]
    assert scene_edges(canvas) == model_edges(design)
    design.remove_layer("p1")
    assert scene_edges(canvas) == model_edges(design) == set()


def test_copy_paste_keeps_port_references_inside_the_selection():
    from designer.gui.edit_actions import layers_json, parse_layers, prepare_paste
    design = split_design()
    layers, external = parse_layers(layers_json(design, ["split", "r"]))
    assert layers[1].inputs == ["split:2"] and external == {"split": ["input"], "r": []}
    pasted = prepare_paste(design, layers, external, None)
    assert [lay.id for lay in pasted] == ["split1", "r1"]
    assert pasted[1].inputs == ["split1:2"]
    only_relu, external = parse_layers(layers_json(design, ["r"]))
    assert external == {"r": ["split:2"]}
    assert prepare_paste(design, only_relu, external, None)[0].inputs == ["split:2"]


def test_property_editor_edits_split_sections_and_pool_indices(qtbot):
    from PySide6.QtGui import QUndoStack
    from designer.gui.context import DesignContext
    from designer.gui.property_editor import PropertyEditor
    design = split_design()
    design.add_layer("MaxPool2d", {"kernel_size": 2}, inputs=["input"], layer_id="pool")
    context = DesignContext(design)
    editor = PropertyEditor(context, QUndoStack())
    qtbot.addWidget(editor, before_close_func=lambda w: w.undo_stack.clear())   # see conftest.undo_stack
    context.select("split")
    sections = editor.editors["split_size_or_sections"]
    assert sections.edit.text() == "4, 4, 4"
    sections.edit.setText("6, 6")
    sections.edit.editingFinished.emit()
    assert design.layer("split").params["split_size_or_sections"] == [6, 6]
    assert design.layer("r").inputs == ["split:2"]          # now an error, not a crash
    assert "has no output '2'" in context.analysis.layers["r"].errors[0].message
    context.select("pool")
    box = editor.editors["return_indices"]
    box.box.setChecked(True)
    assert design.layer("pool").params["return_indices"] is True
    assert context.analysis.layers["pool"].port_names == ["out", "indices"]
