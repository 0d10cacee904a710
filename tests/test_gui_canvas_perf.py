"""Edit-to-repaint latency of the canvas on a 100-block design.

Run alone to see the numbers:
    python -m pytest tests/test_gui_canvas_perf.py -q -s
"""
from __future__ import annotations

import statistics
import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication

from designer.core.model import Design
from designer.gui.canvas.view import DesignCanvas
from designer.gui.commands import SetParamCommand
from designer.gui.context import DesignContext

BUDGET_MS = 16.0


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


def test_parameter_edit_to_repaint_is_well_under_a_frame(qtbot):
    design = hundred_blocks()
    canvas = DesignCanvas(DesignContext(design), QUndoStack())
    qtbot.addWidget(canvas)
    canvas.resize(1200, 900)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.zoom_fit()           # most blocks visible (fit stops at 10 %): the worst case
    top = canvas.block_item("conv1").pos()
    canvas.centerOn(top.x(), top.y() + 4000)
    paints = PaintCounter()
    canvas.viewport().installEventFilter(paints)
    QApplication.processEvents()
    items = {lid: canvas.block_item(lid) for lid in canvas.design_scene().blocks}
    edit_total, canvas_only = [], []
    widths = [24, 16, 8, 32]
    for i in range(40):
        # conv1's width changes its own output and bn1/relu1/conv2 (shape, params)
        cmd = SetParamCommand(design, "conv1", "out_channels", widths[i % 4])
        start = time.perf_counter()
        canvas.undo_stack.push(cmd)
        pushed = time.perf_counter()
        painted = paints.count
        QApplication.processEvents()   # the scene's dirty items, then the viewport paint
        end = time.perf_counter()
        assert paints.count > painted   # the edit really reached the screen
        edit_total.append((end - start) * 1000)
        canvas_only.append((end - pushed) * 1000)
    assert canvas.block_item("conv2").text.shape == "16×32×32"
    assert all(canvas.block_item(lid) is item for lid, item in items.items())  # not re-created
    median = statistics.median(edit_total)
    print(f"\n100 blocks, edit -> analysis -> block text -> repaint: median {median:.2f} ms, "
          f"p90 {statistics.quantiles(edit_total, n=10)[-1]:.2f} ms; scene update + repaint median "
          f"{statistics.median(canvas_only):.2f} ms")
    assert median < BUDGET_MS
