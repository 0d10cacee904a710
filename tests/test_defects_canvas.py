"""Canvas defects from the new-user walkthrough (issue 12): port hit-testing,
where pasted / duplicated / dropped layers go, deleting a middle layer."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt

from designer.core.analysis import analyse
from designer.gui.canvas.block_item import PORT_HIT
from tests.test_gui_canvas import chain, make_canvas, send_mouse


@pytest.mark.parametrize("dy", [-PORT_HIT * 0.6, -2.0, 2.0, PORT_HIT * 0.6])
def test_a_port_reacts_over_its_whole_circle(qtbot, dy):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    block = canvas.block_item("conv1")
    for port in (block.output_port(), block.input_port()):
        point = block.mapFromScene(port + QPointF(0, dy))
        assert block.contains(point), f"{dy:+.1f} px from the port is not on the block"


@pytest.mark.parametrize("inside", [True, False])
def test_press_on_the_upper_half_of_an_output_port_and_drop_on_the_lower_half_of_an_input_port(
        qtbot, inside):
    design = chain("Conv2d")
    canvas = make_canvas(qtbot, design)
    new = canvas.add_layer_at("ReLU", QPointF(420, 320))
    src, dst = canvas.block_item("conv1"), canvas.block_item(new)
    dy = 4.0 if inside else -4.0   # into the block: the half that the old shape lost
    press = src.output_port() - QPointF(0, dy)
    release = dst.input_port() + QPointF(0, dy)
    send_mouse(canvas, QEvent.Type.MouseButtonPress, press, Qt.MouseButton.LeftButton)
    send_mouse(canvas, QEvent.Type.MouseMove, release, Qt.MouseButton.LeftButton)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, release, Qt.MouseButton.NoButton)
    assert design.layer(new).inputs == ["conv1"]
    assert src.pos() == canvas.block_item("conv1").pos()   # a connect, not a move


# --- paste, duplicate and drops land in free space, after the selection -----------

@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from designer.gui.main_window import MainWindow
    monkeypatch.setenv("CNN_DESIGNER_STATE_DIR", str(tmp_path / "state"))
    design = chain("Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear")
    win = MainWindow(design, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    monkeypatch.setattr(win, "_ask_save_changes", lambda: "discard")
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.canvas.auto_layout()
    win.undo_stack.clear()
    return win


def no_block_overlaps(win) -> bool:
    blocks = list(win.canvas.design_scene().blocks.values())
    rects = [b.scene_rect() for b in blocks]
    return not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])


def chain_ids(design) -> list[str]:
    """Follow the single chain from the input; fails on branches."""
    order, cur = [], "input"
    while True:
        nxt = [lay.id for lay in design.layers if cur in lay.inputs]
        if not nxt:
            return order
        assert len(nxt) == 1, f"{cur} feeds {nxt}"
        cur = nxt[0]
        order.append(cur)


def test_duplicate_inserts_the_copy_after_the_original_in_free_space(window):
    design = window.context.design
    window.context.select("relu1")
    window.duplicate()
    new = window.context.selected_id
    assert new not in ("relu1", None) and design.layer(new).type == "ReLU"
    assert chain_ids(design) == ["conv1", "relu1", new, "pool1", "flatten1", "fc1"]
    assert window.context.analysis.ok, window.context.analysis.all_errors
    assert no_block_overlaps(window)
    window.undo_stack.undo()   # one step
    assert chain_ids(design) == ["conv1", "relu1", "pool1", "flatten1", "fc1"]


def test_paste_goes_after_the_selected_block_and_keeps_one_output(window):
    design = window.context.design
    window.context.select("conv1")
    window.copy()
    window.context.select("pool1")
    window.paste()
    new = window.context.selected_id
    assert design.layer(new).type == "Conv2d"
    assert chain_ids(design) == ["conv1", "relu1", "pool1", new, "flatten1", "fc1"]
    assert design.output_ids() == ["fc1"]
    assert no_block_overlaps(window)


def test_paste_without_a_selection_goes_after_the_output(window):
    design = window.context.design
    window.context.select("relu1")
    window.copy()
    window.canvas.design_scene().clearSelection()
    window.context.select(None)
    window.paste()
    assert chain_ids(design)[-1] != "fc1" and chain_ids(design)[-2] == "fc1"
    assert no_block_overlaps(window)


def test_a_layer_dropped_on_a_block_goes_after_it_not_on_top(window):
    design = window.context.design
    pool = window.canvas.block_item("pool1")
    new = window.canvas.add_layer_at("Dropout", pool.pos() + QPointF(30, 10))
    assert chain_ids(design) == ["conv1", "relu1", "pool1", new, "flatten1", "fc1"]
    assert no_block_overlaps(window)


def test_a_layer_dropped_beside_a_block_never_overlaps_it(window):
    pool = window.canvas.block_item("pool1")
    new = window.canvas.add_layer_at("ReLU", pool.pos() + QPointF(pool.rect().width() * 0.6, 0))
    assert new is not None and window.context.design.layer(new).inputs == []
    assert no_block_overlaps(window)


# --- deleting a middle layer reconnects its neighbours ----------------------------

def test_deleting_a_middle_layer_reconnects_its_neighbours_in_one_step(window):
    design = window.context.design
    before = [list(lay.inputs) for lay in design.layers]
    window.context.select("relu1")
    window.delete_selected()
    assert chain_ids(design) == ["conv1", "pool1", "flatten1", "fc1"]
    assert window.context.analysis.ok
    window.undo_stack.undo()
    assert [list(lay.inputs) for lay in design.layers] == before


def test_deleting_a_chain_of_layers_closes_the_gap(window):
    design = window.context.design
    scene = window.canvas.design_scene()
    for lid in ("relu1", "pool1"):
        scene.blocks[lid].setSelected(True)
    window.delete_selected()
    assert chain_ids(design) == ["conv1", "flatten1", "fc1"]


def test_no_reconnection_where_the_shapes_do_not_allow_it(window):
    design = window.context.design
    window.context.select("flatten1")   # conv output into a Linear: not allowed
    window.delete_selected()
    assert design.layer("fc1").inputs == []


def test_cut_also_closes_the_gap(window):
    design = window.context.design
    window.context.select("pool1")
    window.cut()
    assert chain_ids(design) == ["conv1", "relu1", "flatten1", "fc1"]


def test_redoing_a_template_replays_it_as_inserted_not_as_later_edited(window):
    """Found by the monkey test: a template's redo replayed the design's live layer
    objects, so later edits (undone on restored copies) leaked into the replay."""
    from designer.core.templates import TEMPLATES
    from designer.gui.commands import SetParamCommand
    from designer.io import dumps
    design, stack = window.context.design, window.undo_stack
    window.context.select("relu1")
    window.append_entry("template", sorted(TEMPLATES)[0])
    states = [dumps(design)]
    inserted = [lay for lay in design.layers if lay.id not in
                ("conv1", "relu1", "pool1", "flatten1", "fc1")]
    target = next(lay for lay in inserted if lay.type in ("Conv2d", "BatchNorm2d", "ReLU"))
    name = {"Conv2d": "out_channels", "BatchNorm2d": "eps", "ReLU": "inplace"}[target.type]
    value = {"Conv2d": 5, "BatchNorm2d": 0.5, "ReLU": True}[target.type]
    stack.push(SetParamCommand(design, target.id, name, value))
    window.context.select(target.id)
    window.delete_selected()
    while stack.canUndo():
        stack.undo()
    stack.redo()
    assert dumps(design) == states[0]


def test_copying_layers_listed_against_the_data_flow_pastes_them(window):
    """Found by the monkey test: a copied set whose list order does not follow the
    data (a layer wired after its consumer was created) could not be pasted."""
    design = window.context.design
    window.context.select("conv1")
    window.append_entry("layer", "BatchNorm2d")   # listed right after conv1
    late = window.canvas.add_layer_at("Dropout", QPointF(900, 900))   # listed last
    window.canvas.design_scene().connect_blocks("relu1", late)
    window.canvas.design_scene().connect_blocks(late, "pool1")       # pool1 now reads it
    assert design.layer("pool1").inputs == [late]
    scene = window.canvas.design_scene()
    scene.clearSelection()
    for lid in (late, "pool1"):
        scene.blocks[lid].setSelected(True)
    window.copy()
    window.context.select("fc1")
    count = len(design.layers)
    window.paste()
    assert len(design.layers) == count + 2
    assert window.context.analysis.layers  # analysed without an exception


# --- level of detail ----------------------------------------------------------------

def test_zoomed_out_blocks_show_name_and_shape_in_large_type(qtbot):
    from PySide6.QtGui import QColor, QImage, QPainter

    from designer.core.catalogue import CATEGORY_COLOURS
    from designer.gui.canvas.block_item import OVERVIEW_BELOW, OVERVIEW_PX, mix
    design = chain("Conv2d", "ReLU", "MaxPool2d")
    canvas = make_canvas(qtbot, design)
    block = canvas.block_item("conv1")

    def render_at(zoom: float) -> QImage:
        canvas.resetTransform()
        canvas.scale(zoom, zoom)
        canvas.centerOn(block)
        image = QImage(canvas.viewport().size(), QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        canvas.render(painter)
        painter.end()
        return image

    render_at(1.0)
    assert block.painted_as == "full"
    zoom = OVERVIEW_BELOW * 0.8
    image = render_at(zoom)
    assert block.painted_as == "overview"
    assert block.overview_lines(zoom) == 2   # name and output shape
    on_screen = block.overview_font_size(zoom, 2) * zoom
    assert on_screen >= 9.0, f"overview text is {on_screen:.1f} px on screen"
    far = OVERVIEW_BELOW * 0.5   # too small for two lines: the name alone, readable
    assert block.overview_lines(far) == 1 and block.overview_font_size(far, 1) * far >= 9.0
    assert OVERVIEW_PX >= 9.0
    # the block reads as its type colour from afar
    centre = canvas.mapFromScene(block.pos() + QPointF(-block.rect().width() * 0.45, 0))
    want = mix(CATEGORY_COLOURS[block.text.category], 0.55)
    got = QColor(image.pixel(centre))
    assert abs(got.red() - want.red()) + abs(got.green() - want.green()) + \
        abs(got.blue() - want.blue()) < 40


def test_exports_always_draw_the_full_blocks(qtbot, tmp_path):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    canvas.resetTransform()
    canvas.scale(0.2, 0.2)
    canvas.export_png(tmp_path / "d.png", scale=0.3)
    assert canvas.block_item("conv1").painted_as == "full"


# --- flow direction -------------------------------------------------------------------

def test_left_to_right_flow_lays_out_ports_and_edges_sideways(qtbot):
    from tests.test_gui_canvas import load_sample
    design = load_sample("resnet_small")
    canvas = make_canvas(qtbot, design)
    canvas.set_horizontal(True)
    scene = canvas.design_scene()
    blocks = [b for lid, b in scene.blocks.items() if lid != "input"]
    rects = [b.scene_rect() for b in blocks]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    for src, dst in design.edges():   # data flows left to right
        assert scene.blocks[src].x() < scene.blocks[dst].x()
    first = design.layers[0].id
    conv = canvas.block_item(first)
    assert conv.output_port().x() > conv.x() and abs(conv.output_port().y() - conv.y()) < 1
    assert conv.input_port().x() < conv.x()
    path = canvas.edge_item("input", first).path()
    assert path.pointAtPercent(0).x() < path.pointAtPercent(1).x()
    canvas.undo_stack.undo()   # the re-layout is one undo step
    assert scene.blocks[first].x() == scene.blocks[blocks[-1].layer_id].x()


def test_new_blocks_follow_the_flow_direction(qtbot):
    design = chain("Conv2d", "ReLU")
    canvas = make_canvas(qtbot, design)
    canvas.set_horizontal(True)
    canvas.context.select("relu1")
    new = canvas.append_layer("MaxPool2d")
    relu, pool = canvas.block_item("relu1"), canvas.block_item(new)
    assert pool.x() > relu.x() and abs(pool.y() - relu.y()) < 1


def test_fit_chooses_the_direction_that_shows_a_wide_design_larger(qtbot):
    design = chain(*["Conv2d", "ReLU"] * 3)
    canvas = make_canvas(qtbot, design)
    canvas.resize(1600, 300)   # a wide, low view: a short chain reads better sideways
    assert canvas.fit_zoom(True) > canvas.fit_zoom(False)
    assert canvas.fit_best_orientation() and canvas.is_horizontal()
    canvas.resize(500, 1000)
    canvas.fit_best_orientation()
    assert not canvas.is_horizontal()


def test_the_direction_is_remembered_in_the_settings(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from designer.gui.main_window import MainWindow
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    win = MainWindow(chain("Conv2d", "ReLU"), settings=settings)
    win._ask_save_changes = lambda: "discard"
    qtbot.addWidget(win)
    assert not win.canvas.is_horizontal()
    win.canvas_actions.horizontal.setChecked(True)
    assert win.canvas.is_horizontal()
    again = MainWindow(chain("Conv2d", "ReLU"), settings=settings)
    again._ask_save_changes = lambda: "discard"
    qtbot.addWidget(again)
    assert again.canvas.is_horizontal() and again.canvas_actions.horizontal.isChecked()
    conv, relu = again.canvas.block_item("conv1"), again.canvas.block_item("relu1")
    assert relu.x() > conv.x()
