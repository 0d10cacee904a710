"""The per-layer charts at 1280x720 (issue 12): the plan's bars in Train mode
and the receptive-field growth chart in Inspect mode draw tick labels that do
not overlap one another, and every axis title and tick label lies inside its
chart (a cut "pixels" or a crowded "inputconvrelu1…" axis was what a new user saw).

The labels checked are the ones pyqtgraph draws: its own draw specs (the text
rectangles it paints), in the real window."""
from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from designer.core.model import Design


def drawn_labels(axis: pg.AxisItem) -> list[tuple[QRectF, str]]:
    """The tick labels `axis` paints now, in scene coordinates."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    if specs is None:
        return []
    return [(axis.mapRectToScene(rect), text) for rect, _flags, text in specs[2]]


def assert_readable(plot: pg.PlotWidget, axes: list[str]) -> int:
    """No two labels of an axis overlap; labels and titles lie inside the chart.
    Returns how many labels were shown."""
    inside = QRectF(plot.viewport().rect()).adjusted(-0.5, -0.5, 0.5, 0.5)
    shown = 0
    for name in axes:
        axis = plot.getAxis(name)
        labels = drawn_labels(axis)
        shown += len(labels)
        rects = sorted((r for r, _ in labels),
                       key=lambda r: r.left() if name in ("bottom", "top") else r.top())
        for a, b in zip(rects, rects[1:]):
            assert not a.intersects(b), f"{name} labels overlap: {labels}"
        for rect, text in labels:
            view_rect = plot.mapFromScene(rect).boundingRect()
            assert inside.contains(QRectF(view_rect)), f"{name} label {text!r} is cut"
        if axis.label.isVisible() and axis.labelText:
            margin = axis.label.document().documentMargin()   # blank around the text
            text_rect = axis.label.boundingRect().adjusted(margin, margin, -margin, -margin)
            title = axis.label.mapRectToScene(text_rect)
            view_title = QRectF(plot.mapFromScene(title).boundingRect())
            assert inside.contains(view_title), \
                f"{name} title {axis.labelText!r} is cut ({view_title} not in {inside})"
    return shown


def long_chain() -> Design:
    """30 layers with ids of several lengths: more labels than fit side by side."""
    design = Design("labels")
    for n in range(10):
        design.add_layer("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1},
                         layer_id=f"conv_block{n}")
        design.add_layer("ReLU", layer_id=f"r{n}")
        design.add_layer("BatchNorm2d", layer_id=f"batchnorm_long_name{n}")
    return design


@pytest.fixture
def window_1280(app_window, qtbot):
    win = app_window
    win.setGeometry(0, 0, 1280, 720)
    win.modes.reset_layout()
    qtbot.wait(50)
    return win


@pytest.mark.parametrize("design", ["sample", "long"])
def test_train_mode_plan_chart_labels_fit_and_do_not_overlap(window_1280, qtbot, design):
    win = window_1280
    if design == "long":
        win.set_design(long_chain(), None)
    win.modes.switch("train")
    plan = win.panels.training.plan_view
    qtbot.waitUntil(lambda: plan.chart.isVisible() and len(plan.rows) > 1, timeout=10000)
    qtbot.wait(50)
    QApplication.processEvents()
    assert plan.chart.height() >= 150
    names = [label for label, _ in plan.rows]
    shown = assert_readable(plan.chart, ["left", "bottom"])
    assert shown >= len(names) + 2    # every bar named, and a scale below
    left = [text for _, text in drawn_labels(plan.chart.getAxis("left"))]
    assert left == [t for t in left if t] and len(left) == len(names)


@pytest.mark.parametrize("design", ["sample", "long"])
def test_inspect_mode_growth_chart_labels_fit_and_do_not_overlap(window_1280, qtbot, design):
    win = window_1280
    if design == "long":
        win.set_design(long_chain(), None)
    win.modes.switch("inspect")
    chart = win.panels.rf.chart
    qtbot.waitUntil(lambda: chart.plot.isVisible() and len(chart.rows) > 1, timeout=10000)
    qtbot.wait(50)
    QApplication.processEvents()
    shown = assert_readable(chart.plot, ["left", "bottom"])
    ids = [text for _, text in drawn_labels(chart.plot.getAxis("bottom"))]
    assert len(ids) >= 2 and set(ids) <= {r.id for r in chart.rows}   # sparse, real ids
    assert shown > len(ids)
