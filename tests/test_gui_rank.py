"""The window with 1-D and 3-D designs: choosing the input rank and its sizes
(undoable), block shapes with their axes named, the palette listing first
what fits the selected layer's output."""
from __future__ import annotations

import pytest

from designer.core.model import Design, InputSpec
from designer.gui.canvas.block_text import block_shape, rf_text
from designer.gui.deferred import flush_scheduled
from designer.core.catalogue import RF


@pytest.fixture
def window(app_window):
    return app_window


def _volume() -> Design:
    d = Design("vol", InputSpec(1, 16, 16, depth=8))
    d.add_layer("Conv3d", {"out_channels": 4, "kernel_size": 3}, layer_id="c3")
    d.add_layer("ReLU", layer_id="r")
    d.add_layer("Flatten", layer_id="fl")
    d.add_layer("Linear", {"out_features": 5}, layer_id="fc")
    return d


def test_rank_choice_changes_the_input_and_undoes(window, qtbot) -> None:
    design = window.context.design
    before = design.input.shape
    window.context.select(None)
    props = window.properties
    assert props.rank_box.currentData() == 2
    props.rank_box.setCurrentIndex(2)               # 3-D
    assert design.input.rank == 3
    assert design.input.shape == (before[0], 16, before[1], before[2])  # height, width kept
    assert set(window.properties.input_boxes) == {"channels", "depth", "height", "width"}
    window.properties.input_boxes["depth"].setValue(6)
    assert design.input.shape == (before[0], 6, before[1], before[2])
    window.properties.rank_box.setCurrentIndex(0)   # 1-D
    assert design.input.rank == 1 and design.input.shape == (before[0], 128)
    assert set(window.properties.input_boxes) == {"channels", "length"}
    window.properties.input_boxes["length"].setValue(300)
    assert design.input.shape == (before[0], 300)
    window.undo_stack.undo()
    assert design.input.shape == (before[0], 128)
    window.undo_stack.undo()
    assert design.input.shape == (before[0], 6, before[1], before[2])
    assert window.properties.rank_box.currentData() == 3
    assert window.properties.input_boxes["depth"].value() == 6
    while window.undo_stack.canUndo():
        window.undo_stack.undo()
    assert design.input.shape == before and window.properties.rank_box.currentData() == 2
    window.undo_stack.redo()
    assert design.input.rank == 3


def test_blocks_name_the_axes_of_1d_and_3d_shapes(window, qtbot) -> None:
    assert block_shape((6, 28, 28)) == "6×28×28" and block_shape((120,)) == "120"
    assert block_shape((16, 8, 56, 56)) == "16×8×56×56 (C×D×H×W)"
    assert block_shape((32, 500)) == "32×500 (C×L)"
    assert rf_text(RF((3.0, 5.0, 5.0), (1.0,) * 3, (0.0,) * 3)) == "RF 3×5×5"
    assert rf_text(RF((9.0,), (2.0,), (0.0,))) == "RF 9"
    assert rf_text(RF((5.0, 5.0), (1.0, 1.0), (0.0, 0.0))) == "RF 5"
    window.set_design(_volume(), None)
    scene = window.canvas.design_scene()
    qtbot.waitUntil(lambda: "c3" in window.context.analysis.layers)
    block = window.canvas.block_item("c3")
    assert block.text.shape == "4×6×14×14"          # the Input block names the axes
    assert "output: 4×6×14×14 (C×D×H×W)" in block.text.tooltip
    assert block.text.rf == "RF 3×3×3"
    assert window.canvas.block_item("input").text.detail == "C×D×H×W"
    assert scene is not None


def _order(palette, category: str) -> list[str]:
    for n in range(palette.tree.topLevelItemCount()):
        group = palette.tree.topLevelItem(n)
        if group.text(0) == category:
            return [group.child(m).text(0) for m in range(group.childCount())]
    raise AssertionError(category)


def test_palette_lists_first_what_fits_the_selected_output(window, qtbot) -> None:
    palette = window.palette
    lenet_conv = _order(palette, "Convolution")
    window.context.select("conv1")            # a 2-D map: today's order
    flush_scheduled()   # the palette follows at the next turn of the event loop
    assert _order(palette, "Convolution")[:2] == ["Conv2d", "ConvTranspose2d"]
    window.set_design(_volume(), None)
    window.context.select("c3")                # a 3-D map
    flush_scheduled()   # the palette follows at the next turn of the event loop
    order = _order(palette, "Convolution")
    assert order[:2] == ["Conv3d", "ConvTranspose3d"] and set(order) == set(lenet_conv)
    assert palette.find("Conv2d").foreground(0).color().name() == "#9a9a9a"
    assert "does not take C×D×H×W input" in palette.find("Conv2d").toolTip(0)
    assert _order(palette, "Pooling")[0].endswith("3d")
    window.context.select("fl")                # a flat vector: Linear first among its group
    flush_scheduled()   # the palette follows at the next turn of the event loop
    assert palette.find("Linear").foreground(0).color().name() != "#9a9a9a"
    assert palette.find("Conv3d").foreground(0).color().name() == "#9a9a9a"
    # double-clicking still adds the layer after the selection
    window.context.select("c3")
    palette.tree.itemDoubleClicked.emit(palette.find("MaxPool3d"), 0)
    assert any(l.type == "MaxPool3d" for l in window.context.design.layers)


def test_every_mode_shows_a_3d_and_a_1d_design(window, qtbot) -> None:
    from designer.gui.rf.view import ReceptiveFieldView
    signal = Design("sig", InputSpec(2, length=40))
    signal.add_layer("Conv1d", {"out_channels": 3, "kernel_size": 5}, layer_id="c1")
    signal.add_layer("Flatten", layer_id="fl")
    signal.add_layer("Linear", {"out_features": 4}, layer_id="fc")
    for design, first in ((_volume(), "c3"), (signal, "c1")):
        window.set_design(design, None)
        for mode in ("inspect", "train", "design", "inspect"):
            window.modes.switch(mode)
            qtbot.wait(50)
            for lid in (first, "fl", "fc", "input", None):
                window.context.select(lid)
        rf = window.findChild(ReceptiveFieldView)
        assert rf is not None and rf.is_nd()
        window.context.select(first)
        qtbot.waitUntil(lambda: rf.nd_view.isVisible(), timeout=10000)
        assert first in rf.nd_view.header.text()
    window.modes.switch("design")


def test_changing_the_rank_while_inspecting_keeps_every_view_working(window, qtbot) -> None:
    from designer.gui.rf.view import ReceptiveFieldView
    window.modes.switch("inspect")
    rf = window.findChild(ReceptiveFieldView)
    window.context.select("conv1")
    window.context.select(None)
    for index in (2, 0, 1, 2):                 # 3-D, 1-D, back to 2-D, 3-D: LeNet's Conv2d
        window.properties.rank_box.setCurrentIndex(index)   # layers now have errors
        qtbot.wait(30)
        window.context.select("conv1")
        assert rf.is_nd() == (index != 1)
        if index != 1:
            assert "conv1" in rf.nd_view.header.text()
        window.context.select(None)
    while window.undo_stack.canUndo():
        window.undo_stack.undo()
    flush_scheduled()   # the panel redraws once, before the window paints
    window.context.select("conv1")
    assert not rf.is_nd() and rf.pictures_panel.isVisibleTo(rf)
    window.modes.switch("design")


def test_a_late_field_view_start_after_another_design_came(window, qtbot) -> None:
    """The field view starts a while after it is first shown; when another design
    replaced the one whose layer it shows meanwhile (the view's own update for it
    still to come), it asks nothing of the layer that is gone."""
    from designer.gui.rf.view import ReceptiveFieldView
    window.set_design(_volume(), None)
    window.modes.switch("inspect")
    rf = window.findChild(ReceptiveFieldView)
    window.context.select("c3")
    assert rf.layer_id == "c3"
    rf._started = False   # its delayed start still to come
    other = Design("other", InputSpec(3, 16, 16))
    other.add_layer("Conv2d", {"out_channels": 4, "kernel_size": 3}, layer_id="k1")
    window.set_design(other, None)
    assert rf.layer_id == "c3"   # the view hears of it at the next turn of the event loop
    rf._start()                  # the delayed start comes first
    qtbot.wait(50)
    assert rf.layer_id in (None, "k1")   # the new design's, as the window selects it
    window.context.select("k1")
    qtbot.waitUntil(lambda: rf.layer_id == "k1", timeout=10000)
    window.modes.switch("design")
