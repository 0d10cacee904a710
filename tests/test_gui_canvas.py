"""The designer canvas with real Qt widgets (offscreen): model mirroring,
drops, port-drag connections, deletion, moves, error display, export."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QMouseEvent, QUndoStack
from PySide6.QtWidgets import QApplication

from designer.core.model import Design
from designer.io import design_file
from designer.gui.canvas.block_item import BlockItem
from designer.gui.canvas.mime import LAYER_MIME, TEMPLATE_MIME
from designer.gui.canvas.view import DesignCanvas
from designer.gui.commands import AddLayerCommand, SetParamCommand, connect_command
from designer.gui.context import DesignContext
from tests.conftest import ROOT, SAMPLES


def load_sample(name: str) -> Design:
    return design_file.load(ROOT / "samples" / f"{name}.json")


def make_canvas(qtbot, design: Design) -> DesignCanvas:
    canvas = DesignCanvas(DesignContext(design), QUndoStack())
    qtbot.addWidget(canvas, before_close_func=lambda w: w.undo_stack.clear())   # see conftest.undo_stack
    canvas.resize(900, 700)
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas


def chain(*types: str) -> Design:
    design = Design("test")
    params = {"Conv2d": {"out_channels": 8, "kernel_size": 3}, "Linear": {"out_features": 10},
              "MaxPool2d": {"kernel_size": 2}}
    for t in types:
        design.add_layer(t, params.get(t, {}))
    return design


def mime(fmt: str, name: str) -> QMimeData:
    data = QMimeData()
    data.setData(fmt, QByteArray(name.encode("utf-8")))
    return data


def send_mouse(canvas: DesignCanvas, kind: QEvent.Type, scene_pos: QPointF,
               buttons: Qt.MouseButton) -> None:
    """A real mouse event on the viewport (QTest's mouseMove drops the
    pressed buttons offscreen)."""
    local = canvas.mapFromScene(scene_pos)
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, QPointF(local), QPointF(canvas.viewport().mapToGlobal(local)),
                        button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), event)


def drag(canvas: DesignCanvas, start: QPointF, end: QPointF) -> None:
    send_mouse(canvas, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for i in range(1, 6):
        send_mouse(canvas, QEvent.Type.MouseMove, start + (end - start) * (i / 5),
                   Qt.MouseButton.LeftButton)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)


def scene_edges(canvas: DesignCanvas) -> set[tuple[str, str]]:
    return set(canvas.design_scene().edges)


def model_edges(design: Design) -> set[tuple[str, str]]:
    return set(design.edges())


# --- mirroring ---------------------------------------------------------------

def test_blocks_and_edges_mirror_the_design(qtbot):
    design = load_sample("resnet_small")
    canvas = make_canvas(qtbot, design)
    assert set(canvas.design_scene().blocks) == {"input"} | {lay.id for lay in design.layers}
    assert scene_edges(canvas) == model_edges(design)
    conv = canvas.block_item("stem").text
    assert (conv.type_name, conv.detail, conv.shape) == ("Conv2d", "3×3, 16 ch, s1, p1",
                                                         "16×32×32")
    assert conv.params == "432 params" and conv.rf == "RF 3"
    assert canvas.block_item("fc").text.rf == "RF all"
    assert canvas.block_item("input").text.shape == "3×32×32"


def test_model_events_create_update_and_remove_items(qtbot):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    stack = canvas.undo_stack
    stack.push(AddLayerCommand(design, "Linear", {"out_features": 7}, inputs=["relu1"]))
    assert "fc1" in canvas.design_scene().blocks
    canvas.edge_item("relu1", "fc1")
    assert canvas.block_item("fc1").text.shape == "?"  # Linear on a C×H×W map: error
    stack.undo()
    assert "fc1" not in canvas.design_scene().blocks
    assert ("relu1", "fc1") not in canvas.design_scene().edges
    item = canvas.block_item("conv1")
    stack.push(SetParamCommand(design, "conv1", "out_channels", 32))
    assert canvas.block_item("conv1") is item  # updated in place, not re-created
    assert item.text.detail.startswith("3×3, 32 ch")
    assert canvas.block_item("relu1").text.shape == "32×30×30"
    design.rename_layer("relu1", "act")
    assert canvas.block_item("act").text.title == "act"
    assert scene_edges(canvas) == model_edges(design)


def test_reset_rebuilds_and_lays_out_positionless_designs(qtbot):
    canvas = make_canvas(qtbot, chain("Conv2d"))
    lenet = load_sample("lenet5")
    assert all(lay.position is None for lay in lenet.layers)
    canvas.context.design.replace_with(lenet)
    design = canvas.context.design
    assert set(canvas.design_scene().blocks) == {"input"} | {lay.id for lay in design.layers}
    # the places the user sees are stored, so a saved design keeps its layout
    for lay in design.layers:
        item = canvas.block_item(lay.id)
        assert lay.position == (item.x(), item.y())
    assert design_file.loads(design_file.dumps(design)).layers[0].position is not None


def test_selection_syncs_both_ways(qtbot):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    ctx = canvas.context
    canvas.block_item("relu1").setSelected(True)
    assert ctx.selected_id == "relu1"
    ctx.select("conv1")
    assert canvas.selected_ids() == ["conv1"]
    canvas.select_all()
    assert ctx.selected_id is None and set(canvas.selected_ids()) == {"conv1", "relu1"}
    ctx.select(None)
    canvas.design_scene().clearSelection()
    assert canvas.selected_ids() == []


def test_double_click_activates_the_layer(qtbot):
    canvas = make_canvas(qtbot, chain("Conv2d"))
    with qtbot.waitSignal(canvas.layer_activated, timeout=1000) as sig:
        qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                          pos=canvas.mapFromScene(canvas.block_item("conv1").pos()))
    assert sig.args == ["conv1"]


# --- drops ---------------------------------------------------------------------

def test_layer_drop_on_empty_space_adds_an_unconnected_block_there(qtbot):
    design = chain("Conv2d")
    canvas = make_canvas(qtbot, design)
    target = QPointF(600, 40)
    local = canvas.mapFromScene(target)
    payload = mime(LAYER_MIME, "Dropout")  # the event does not own it: keep it alive
    event = QDropEvent(QPointF(local), Qt.DropAction.CopyAction, payload,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    canvas.dropEvent(event)
    layer = design.layers[-1]
    assert layer.type == "Dropout" and layer.inputs == []
    block = canvas.block_item(layer.id)
    assert abs(block.x() - target.x()) <= 1 and abs(block.y() - target.y()) <= 1
    assert layer.position == (block.x(), block.y())
    assert block.text.errors  # "no input" shows on the block
    canvas.undo_stack.undo()
    assert [lay.id for lay in design.layers] == ["conv1"]


def test_layer_drop_on_an_edge_inserts_it_there(qtbot):
    design = chain("Conv2d", "ReLU", "MaxPool2d")
    canvas = make_canvas(qtbot, design)
    before = design_file.dumps(design)
    edge = canvas.edge_item("relu1", "pool1")
    middle = edge.path().pointAtPercent(0.5)
    new = canvas.handle_drop(mime(LAYER_MIME, "BatchNorm2d"), middle)
    assert len(new) == 1
    assert design.layer(new[0]).inputs == ["relu1"]
    assert design.layer("pool1").inputs == new
    assert scene_edges(canvas) == model_edges(design)
    rects = [canvas.block_item(i).scene_rect() for i in ("relu1", new[0], "pool1")]
    assert not rects[0].intersects(rects[1]) and not rects[1].intersects(rects[2])
    canvas.undo_stack.undo()  # insertion and the room made for it: one step
    assert design_file.dumps(design) == before


def test_template_drop_inserts_after_the_selected_block_below_it(qtbot):
    design = chain("Conv2d", "ReLU", "Flatten")
    canvas = make_canvas(qtbot, design)
    before = design_file.dumps(design)
    canvas.context.select("relu1")
    ids = canvas.handle_drop(mime(TEMPLATE_MIME, "Residual block"), QPointF(2000, 2000))
    assert ids and design.layer(ids[0]).inputs == ["relu1"]
    assert design.layer("flatten1").inputs == [ids[-1]]
    relu = canvas.block_item("relu1")
    blocks = [canvas.block_item(i) for i in ids] + [canvas.block_item("flatten1")]
    assert all(b.y() > relu.y() for b in blocks)
    assert_no_overlap(canvas)
    canvas.undo_stack.undo()
    assert design_file.dumps(design) == before
    canvas.undo_stack.redo()
    assert [lay.id for lay in design.layers if lay.id in ids] == ids
    assert_no_overlap(canvas)


def test_unknown_drop_payload_is_a_status_message(qtbot):
    design = chain("Conv2d")
    canvas = make_canvas(qtbot, design)
    with qtbot.waitSignal(canvas.status_message, timeout=1000):
        assert canvas.handle_drop(mime(LAYER_MIME, "NoSuchLayer"), QPointF(0, 0)) == []
    assert len(design.layers) == 1


# --- gestures --------------------------------------------------------------------

def test_port_drag_connects_two_blocks(qtbot):
    design = chain("Conv2d")
    canvas = make_canvas(qtbot, design)
    new = canvas.add_layer_at("ReLU", QPointF(400, 300))
    assert new is not None
    src, dst = canvas.block_item("conv1"), canvas.block_item(new)
    send_mouse(canvas, QEvent.Type.MouseButtonPress, src.output_port(), Qt.MouseButton.LeftButton)
    send_mouse(canvas, QEvent.Type.MouseMove, dst.pos(), Qt.MouseButton.LeftButton)
    assert dst.connect_target and design.layer(new).inputs == []
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, dst.pos(), Qt.MouseButton.NoButton)
    assert not dst.connect_target
    assert design.layer(new).inputs == ["conv1"]
    assert (("conv1", new)) in canvas.design_scene().edges
    assert (src.pos(), dst.pos()) == (canvas.block_item("conv1").pos(), QPointF(400, 300))
    canvas.undo_stack.undo()
    assert design.layer(new).inputs == []


def test_port_drag_that_would_make_a_cycle_is_refused_with_a_message(qtbot):
    design = Design("cycle")
    design.add_layer("ReLU", layer_id="a")
    design.add_layer("ReLU", layer_id="b")
    design.add_layer("Add", inputs=["a", "b"], layer_id="m")
    canvas = make_canvas(qtbot, design)
    before = design_file.dumps(design)
    messages: list[str] = []
    canvas.status_message.connect(messages.append)
    drag(canvas, canvas.block_item("m").output_port(), canvas.block_item("a").pos())
    assert design_file.dumps(design) == before
    assert messages and "cycle" in messages[-1]


def test_move_is_one_undo_step_for_all_moved_blocks(qtbot):
    design = chain("Conv2d", "ReLU", "MaxPool2d")
    canvas = make_canvas(qtbot, design)
    start = {lid: canvas.block_item(lid).pos() for lid in ("conv1", "relu1")}
    canvas.block_item("conv1").setSelected(True)
    canvas.block_item("relu1").setSelected(True)
    count = canvas.undo_stack.count()
    grab = canvas.block_item("relu1").pos() + QPointF(-40, 0)
    drag(canvas, grab, grab + QPointF(150, 30))
    assert canvas.undo_stack.count() == count + 1
    for lid, old in start.items():
        moved = canvas.block_item(lid).pos()
        assert (moved - old) == QPointF(150, 30)
        assert design.layer(lid).position == (moved.x(), moved.y())
    assert design.layer("pool1").position == (canvas.block_item("pool1").x(),
                                              canvas.block_item("pool1").y())
    canvas.undo_stack.undo()
    for lid, old in start.items():
        assert canvas.block_item(lid).pos() == old
        assert design.layer(lid).position == (old.x(), old.y())


def test_delete_with_edges_and_undo_restores_the_same_design(qtbot):
    design = load_sample("resnet_small")
    canvas = make_canvas(qtbot, design)
    before = design_file.dumps(design)
    canvas.block_item("res2_conv1").setSelected(True)
    canvas.block_item("res2_proj").setSelected(True)
    canvas.edge_item("res1_bn2", "res1_add").setSelected(True)
    count = canvas.undo_stack.count()
    canvas.delete_selected()
    assert canvas.undo_stack.count() == count + 1
    assert "res2_conv1" not in design and "res2_proj" not in design
    assert design.layer("res1_add").inputs == ["stem_relu"]
    assert scene_edges(canvas) == model_edges(design)
    canvas.undo_stack.undo()
    assert design_file.dumps(design) == before
    assert scene_edges(canvas) == model_edges(design)
    canvas.undo_stack.redo()
    assert "res2_conv1" not in design


def test_delete_key_removes_a_selected_edge_and_input_cannot_be_deleted(qtbot):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    canvas.edge_item("conv1", "relu1").setSelected(True)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert design.layer("relu1").inputs == []
    canvas.design_scene().clearSelection()
    canvas.block_item("input").setSelected(True)
    with qtbot.waitSignal(canvas.status_message, timeout=1000):
        canvas.delete_selected()
    assert "input" in canvas.design_scene().blocks


def test_error_outline_appears_for_a_bad_param_and_goes_after_the_fix(qtbot):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    block = canvas.block_item("conv1")
    assert not block.text.errors
    canvas.undo_stack.push(SetParamCommand(design, "conv1", "kernel_size", 40))
    assert block.text.errors and "fix:" in block.text.errors[0]
    assert "⚠" in block.toolTip() and "fix:" in block.toolTip()
    assert canvas.block_item("relu1").text.shape == "?"
    image = block_image(block)
    assert red_pixels(image) > 100
    canvas.undo_stack.push(SetParamCommand(design, "conv1", "kernel_size", 3))
    assert not block.text.errors and canvas.block_item("relu1").text.shape == "8×30×30"
    assert red_pixels(block_image(block)) < 10


def block_image(block: BlockItem):
    from PySide6.QtGui import QImage, QPainter
    rect = block.sceneBoundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    image.fill(0xffffffff)
    painter = QPainter(image)
    block.scene().render(painter, source=rect)
    painter.end()
    return image


def red_pixels(image) -> int:
    """Pixels close to the error red (#d93025)."""
    n = 0
    for y in range(0, image.height(), 1):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if c.red() > 190 and c.green() < 90 and c.blue() < 80:
                n += 1
    return n


def test_connect_command_refuses_cycles_directly():
    design = chain("Conv2d", "ReLU")
    from designer.core.model import DesignError
    with pytest.raises(DesignError):
        connect_command(design, "relu1", "conv1")


# --- layout, zoom, export ---------------------------------------------------------

def assert_no_overlap(canvas: DesignCanvas) -> None:
    blocks = list(canvas.design_scene().blocks.values())
    for i, a in enumerate(blocks):
        for b in blocks[i + 1:]:
            assert not a.scene_rect().intersects(b.scene_rect()), (a.layer_id, b.layer_id)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_auto_layout_never_overlaps_blocks(qtbot, path: Path):
    design = design_file.load(path)
    canvas = make_canvas(qtbot, design)
    assert_no_overlap(canvas)
    for lay in design.layers:   # scatter, then lay out again: one undo step
        canvas.block_item(lay.id)
    design.move_layer(design.layers[0].id, (900.0, 900.0))
    count = canvas.undo_stack.count()
    canvas.auto_layout()
    assert canvas.undo_stack.count() == count + 1
    assert_no_overlap(canvas)
    # the input sits above the layers it feeds and merges sit below their inputs
    scene = canvas.design_scene()
    for lay in design.layers:
        for src in design.sources(lay.id):
            assert scene.blocks[src].y() < scene.blocks[lay.id].y()


def test_zoom_keeps_limits_and_fit_shows_everything(qtbot):
    canvas = make_canvas(qtbot, load_sample("resnet_small"))
    canvas.zoom_in()
    assert canvas.zoom_level() == pytest.approx(1.25)
    for _ in range(40):
        canvas.zoom_out()
    assert canvas.zoom_level() == pytest.approx(0.1)
    canvas.reset_zoom()
    assert canvas.zoom_level() == 1.0
    canvas.zoom_fit()
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.contains(canvas.design_scene().blocks_rect())


def test_ctrl_wheel_zooms_around_the_cursor(qtbot):
    from PySide6.QtGui import QWheelEvent
    canvas = make_canvas(qtbot, load_sample("lenet5"))
    point = QPoint(300, 200)
    under = canvas.mapToScene(point)
    event = QWheelEvent(QPointF(point), QPointF(canvas.viewport().mapToGlobal(point)),
                        QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(canvas.viewport(), event)
    assert canvas.zoom_level() == pytest.approx(1.15 ** 2)
    after = canvas.mapToScene(point)
    assert abs(after.x() - under.x()) < 3 and abs(after.y() - under.y()) < 3


def test_export_png_and_svg_write_real_files(qtbot, tmp_path):
    from PySide6.QtGui import QImage
    canvas = make_canvas(qtbot, load_sample("lenet5"))
    canvas.export_png(tmp_path / "d.png", scale=1.0)
    image = QImage(str(tmp_path / "d.png"))
    rect = canvas.design_scene().blocks_rect()
    assert image.width() >= rect.width() and image.height() >= rect.height()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 20
    canvas.export_svg(tmp_path / "d.svg")
    svg = (tmp_path / "d.svg").read_text()
    assert "<svg" in svg and "conv1" in svg and "6×28×28" in svg
    with pytest.raises(OSError):
        canvas.export_png(tmp_path / "missing" / "d.png")


def test_layer_added_elsewhere_gets_a_free_place_below_its_input(qtbot):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    cmd = AddLayerCommand(design, "MaxPool2d", {"kernel_size": 2})  # e.g. palette double-click
    canvas.undo_stack.push(cmd)
    relu, pool = canvas.block_item("relu1"), canvas.block_item(cmd.layer_id)
    assert pool.x() == relu.x() and pool.y() > relu.y()
    assert design.layer(cmd.layer_id).position == (pool.x(), pool.y())
    assert_no_overlap(canvas)
    canvas.undo_stack.undo()
    canvas.undo_stack.redo()
    assert canvas.block_item(cmd.layer_id).pos() == pool.pos()


def test_rubber_band_selects_the_blocks_it_covers(qtbot):
    design = chain("Conv2d", "ReLU", "MaxPool2d")
    canvas = make_canvas(qtbot, design)
    conv, relu = canvas.block_item("conv1"), canvas.block_item("relu1")
    start = conv.scene_rect().topLeft() + QPointF(-60, -20)
    end = relu.scene_rect().bottomRight() + QPointF(60, 10)
    drag(canvas, start, end)
    assert set(canvas.selected_ids()) == {"conv1", "relu1"}


def test_middle_button_drag_pans(qtbot):
    canvas = make_canvas(qtbot, load_sample("resnet_small"))
    bar = canvas.verticalScrollBar()
    bar.setValue((bar.minimum() + bar.maximum()) // 2)
    before = bar.value()
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(300, 300))
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(300, 200),
                        QPointF(canvas.viewport().mapToGlobal(QPoint(300, 200))),
                        Qt.MouseButton.NoButton, Qt.MouseButton.MiddleButton,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), event)
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.MiddleButton, pos=QPoint(300, 200))
    assert bar.value() == before + 100
    assert canvas.undo_stack.count() == 0   # panning is not an edit


def test_empty_design_grows_by_drop_and_port_drag_from_the_input(qtbot):
    design = Design("empty")
    canvas = make_canvas(qtbot, design)
    scene = canvas.design_scene()
    assert set(scene.blocks) == {"input"} and scene._hint.isVisible()
    below = canvas.block_item("input").pos() + QPointF(0, 200)
    new = canvas.add_layer_at("Conv2d", below)
    assert new is not None and canvas.selected_ids() == [new]
    scene.flush()
    assert not scene._hint.isVisible()
    drag(canvas, canvas.block_item("input").output_port(), canvas.block_item(new).pos())
    assert design.layer(new).inputs == ["input"]
    assert canvas.block_item(new).text.errors == ()
    assert canvas.block_item(new).text.shape.endswith("×30×30")


def test_warning_marker_and_unknown_shapes(qtbot):
    design = chain("Conv2d", "Softmax", "Linear")
    canvas = make_canvas(qtbot, design)
    soft = canvas.block_item("softmax1").text
    assert soft.warnings and not soft.errors and "⚠" in canvas.block_item("softmax1").toolTip()
    fc = canvas.block_item("fc1").text
    assert fc.errors and fc.shape == "?" and fc.rf == ""


def test_append_layer_goes_below_the_selection_and_makes_room(qtbot):
    design = chain("Conv2d", "ReLU", "MaxPool2d")
    canvas = make_canvas(qtbot, design)
    before = design_file.dumps(design)
    canvas.context.select("conv1")
    new = canvas.append_layer("BatchNorm2d")
    assert new is not None and design.layer(new).inputs == ["conv1"]
    assert design.layer("relu1").inputs == [new]
    conv, bn, relu = (canvas.block_item(i) for i in ("conv1", new, "relu1"))
    assert conv.x() == bn.x() == relu.x() and conv.y() < bn.y() < relu.y()
    assert_no_overlap(canvas)
    assert canvas.selected_ids() == [new]
    canvas.undo_stack.undo()
    assert design_file.dumps(design) == before


def test_text_fits_its_block_and_long_names_are_elided(qtbot):
    from designer.gui.canvas.block_item import PAD, _Fonts, text_width
    from designer.gui.canvas.layout import BLOCK_W
    design = load_sample("shufflenet")
    design.add_layer("ConvTranspose2d", {"out_channels": 64, "kernel_size": 3, "stride": 2,
                                         "padding": 1, "dilation": 2, "groups": 4},
                     layer_id="a_very_long_layer_name_" * 8)
    canvas = make_canvas(qtbot, design)
    f = _Fonts.get()
    inner = BLOCK_W - 2 * PAD
    for lid, item in canvas.design_scene().blocks.items():
        lines = item._lines
        assert text_width(lines["title"], f.title) + lines["rf_w"] <= inner
        assert text_width(lines["type"], f.bold) + 8 + text_width(lines["detail"], f.body) \
            <= inner + 0.5
        assert text_width(lines["shape"], f.bold) + 8 + text_width(lines["params"], f.body) \
            <= inner + 0.5
        assert lines["type"] == item.text.type_name or lid.startswith("a_very")
    long_item = canvas.block_item("a_very_long_layer_name_" * 8)
    assert long_item._lines["title"].endswith("…")


def test_dragging_a_layer_over_an_edge_highlights_it(qtbot):
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    edge = canvas.edge_item("conv1", "relu1")
    payload = mime(LAYER_MIME, "BatchNorm2d")
    over = canvas.mapFromScene(edge.path().pointAtPercent(0.5))
    enter = QDragEnterEvent(over, Qt.DropAction.CopyAction, payload,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    canvas.dragEnterEvent(enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(over, Qt.DropAction.CopyAction, payload,
                          Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    canvas.dragMoveEvent(move)
    assert move.isAccepted() and edge.drop_target
    canvas.dragLeaveEvent(QDragLeaveEvent())
    assert not edge.drop_target
    other = mime("text/plain", "x")
    refused = QDragEnterEvent(over, Qt.DropAction.CopyAction, other,
                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    canvas.dragEnterEvent(refused)
    assert not refused.isAccepted()


def test_context_menu_deletes_what_was_clicked(qtbot):
    design = chain("Conv2d", "ReLU", "MaxPool2d")
    canvas = make_canvas(qtbot, design)
    menu = canvas.context_menu(canvas.block_item("relu1").pos())
    assert canvas.selected_ids() == ["relu1"]
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert {"Delete relu1", "Auto layout", "Zoom to fit", "Select all"} <= set(actions)
    actions["Delete relu1"].trigger()
    assert "relu1" not in design
    menu = canvas.context_menu(canvas.design_scene().blocks_rect().bottomRight()
                               + QPointF(300, 300))
    assert "Auto layout" in [a.text() for a in menu.actions()]
    assert not any(a.text().startswith("Delete") for a in menu.actions())


def test_block_text_formats():
    from designer.core.catalogue import RF
    from designer.gui.canvas.block_text import count_text, detail_text, params_text, rf_text
    assert [count_text(n) for n in (0, 456, 1000, 1234, 48_120, 999_999, 1_234_567)] == [
        "0", "456", "1K", "1.2K", "48.1K", "1M", "1.2M"]
    assert params_text(1) == "1 param" and params_text(456) == "456 params"
    assert params_text(456, frozen=456) == "456 frozen"
    assert detail_text("Conv2d", {"out_channels": 6, "kernel_size": 5}) == "5×5, 6 ch, s1"
    assert detail_text("Conv2d", {"out_channels": 8, "kernel_size": [3, 1], "stride": [2, 2],
                                  "padding": "same", "dilation": 2, "groups": 4}) == \
        "3×1, 8 ch, s2, d2, g4, p same"
    assert detail_text("MaxPool2d", {"kernel_size": 2, "stride": None}) == "2×2"
    assert detail_text("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}) == \
        "3×3, s2, p1"
    assert detail_text("Dropout", {"p": 0.5}) == "p=0.5"
    assert detail_text("Linear", {"out_features": 120}) == "120"
    assert detail_text("Concat", {}, 3) == "3 inputs"
    # values a file may hold before validation never break the block
    assert detail_text("Conv2d", {"kernel_size": "big", "stride": [1, 2, 3]}) == \
        "big×big, s1,2,3"
    assert detail_text("Linear", {"out_features": {"x": 1}}) == "{'x': 1}"
    assert rf_text(RF((5.0, 5.0), (1.0, 1.0), (0.0, 0.0))) == "RF 5"
    assert rf_text(RF((7.0, 3.0), (1.0, 1.0), (0.0, 0.0))) == "RF 7×3"
    assert rf_text(RF((5.0, 5.0), (1.0, 1.0), (0.0, 0.0), whole=True)) == "RF all"
    assert rf_text(None) == ""
