"""A parameter edit on a 100-block canvas reaches the screen, redrawing the
blocks it changed and only those, without re-creating any.

How fast (the issue's "edit -> repaint under 16 ms median on a 100-block
design") is a benchmark's job, measured against a baseline of the same run:
    QT_QPA_PLATFORM=offscreen python tests/benchmarks/gui_edit_latency.py
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication

from designer.core.model import Design
from designer.gui.canvas.block_text import params_text
from designer.gui.canvas.view import DesignCanvas
from designer.gui.commands import SetParamCommand
from designer.gui.context import DesignContext


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def hundred_blocks() -> Design:
    design = Design("hundred")
    for _ in range(33):
        design.add_layer("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1})
        design.add_layer("BatchNorm2d")
        design.add_layer("ReLU")
    design.add_layer("Flatten")
    assert len(design.layers) == 100
    return design


def test_a_parameter_edit_repaints_the_blocks_it_changed(qtbot):
    design = hundred_blocks()
    canvas = DesignCanvas(DesignContext(design), QUndoStack())
    qtbot.addWidget(canvas, before_close_func=lambda w: w.undo_stack.clear())   # see conftest.undo_stack
    canvas.resize(1200, 900)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.zoom_fit()           # most blocks visible (fit stops at 10 %)
    top = canvas.block_item("conv1").pos()
    canvas.centerOn(top.x(), top.y() + 4000)
    paints = PaintCounter()
    canvas.viewport().installEventFilter(paints)
    QApplication.processEvents()
    items = {lid: canvas.block_item(lid) for lid in canvas.design_scene().blocks}
    texts = {lid: item.text for lid, item in items.items()}
    # conv1's width changes its own output and bn1/relu1/conv2 (shape, params)
    for width in (24, 16, 8, 32):
        canvas.undo_stack.push(SetParamCommand(design, "conv1", "out_channels", width))
        painted = paints.count
        QApplication.processEvents()   # the scene's dirty items, then the viewport paint
        assert paints.count > painted   # the edit really reached the screen
        assert canvas.block_item("conv1").text.shape == f"{width}×32×32"
        assert canvas.block_item("relu1").text.shape == f"{width}×32×32"
        assert canvas.block_item("conv2").text.params == params_text((9 * width + 1) * 16)
    assert all(canvas.block_item(lid) is item for lid, item in items.items())  # not re-created
    redrawn = {lid for lid, item in items.items() if item.text != texts[lid]}
    assert redrawn == {"conv1", "bn1", "relu1", "conv2"}
