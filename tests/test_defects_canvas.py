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
