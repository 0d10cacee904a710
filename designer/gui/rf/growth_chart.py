"""Receptive-field size and jump per layer along the network (pyqtgraph)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from designer.core.analysis import Analysis
from designer.core.model import Design
from designer.core.rf_report import GrowthRow, growth_rows, rf_warnings


class GrowthChart(QWidget):
    layer_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(170)
        self.plot.showGrid(x=False, y=True, alpha=0.25)
        self.plot.setLabel("left", "pixels")
        self.plot.addLegend(offset=(8, 4), colCount=3)
        self.plot.setMouseEnabled(x=False, y=False)
        self.size_curve = self.plot.plot([], [], pen=pg.mkPen("#4c8bf5", width=2), symbol="o",
                                         symbolSize=7, symbolBrush="#4c8bf5", name="field size")
        self.jump_curve = self.plot.plot([], [], pen=pg.mkPen("#22a884", width=1.5,
                                                              style=pg.QtCore.Qt.DashLine),
                                         symbol="t", symbolSize=6, symbolBrush="#22a884",
                                         name="jump")
        self.whole_points = pg.ScatterPlotItem(size=9, symbol="s", brush="#8e5cd9",
                                               pen=pg.mkPen("#8e5cd9"), name="whole input")
        self.plot.addItem(self.whole_points)
        self.input_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#e0575b", width=1.5,
                                                                style=pg.QtCore.Qt.DotLine),
                                          label="input {value:g}", labelOpts={
                                              "position": 0.5, "color": "#e0575b"})
        self.plot.addItem(self.input_line)
        self.selected_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ffb000", width=2))
        self.plot.addItem(self.selected_line)
        self.size_curve.sigPointsClicked.connect(self._clicked)
        self.whole_points.sigClicked.connect(self._clicked)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #9a5b00;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.warnings)
        self.rows: list[GrowthRow] = []
        # the room for the ids is the plot area's, known once pyqtgraph laid it out
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._update_ticks)

    def set_analysis(self, design: Design, analysis: Analysis) -> None:
        self.rows = growth_rows(analysis)
        side = max(analysis.input_shape[1:])   # the input's largest spatial size
        local = [(n, r) for n, r in enumerate(self.rows) if not r.whole]
        whole = [(n, r) for n, r in enumerate(self.rows) if r.whole]
        # a line joins neighbours only where one feeds the other (branches stay apart)
        joined = np.array([b[1].id in design and a[1].id in design.sources(b[1].id)
                           for a, b in zip(local, local[1:])] + [False], dtype=bool)
        xs = [n for n, _ in local]
        self.size_curve.setData(xs, [max(r.size) for _, r in local], connect=joined)
        self.jump_curve.setData(xs, [max(r.jump) for _, r in local], connect=joined)
        self.whole_points.setData([n for n, _ in whole], [float(side)] * len(whole))
        self.input_line.setValue(float(side))
        self._update_ticks()
        self.plot.setXRange(-0.5, max(len(self.rows) - 0.5, 0.5), padding=0.02)
        tallest = max([max(r.size) for r in self.rows if not r.whole] + [float(side)])
        self.plot.setYRange(0, tallest * 1.3, padding=0)   # room for the legend
        # the field warnings are worded for images (core/rf_report.py)
        msgs = [w.message for w in rf_warnings(design, analysis)] \
            if len(analysis.input_shape) == 3 else []
        self.warnings.setText("\n".join("⚠ " + m for m in msgs))
        self.warnings.setVisible(bool(msgs))

    def _update_ticks(self) -> None:
        """Every step-th id, the step chosen so that the widest id, in the axis's
        own font, fits between two labels with a gap (labels drawn over each other
        read as one word: "inputconvrelu1")."""
        axis = self.plot.getAxis("bottom")
        if not self.rows:
            axis.setTicks([[], []])
            return
        font = axis.style.get("tickFont") or axis.font()
        widest = max(QFontMetrics(font).horizontalAdvance(r.id) for r in self.rows) + 12
        view = self.plot.getPlotItem().getViewBox()
        room = view.width() if view.width() > 0 else self.plot.width() * 0.85
        per_row = room / max(len(self.rows) + 0.04 * len(self.rows), 1)   # the x padding
        step = max(1, math.ceil(widest / max(per_row, 1e-6)))
        axis.setTicks([[(n, r.id) for n, r in enumerate(self.rows) if n % step == 0], []])

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._update_ticks()

    def point_count(self) -> int:
        x_local = self.size_curve.getData()[0]
        return (0 if x_local is None else len(x_local)) + len(self.whole_points.data)

    def mark(self, layer_id: str | None) -> None:
        ids = [r.id for r in self.rows]
        if layer_id in ids:
            self.selected_line.setValue(ids.index(layer_id))
            self.selected_line.show()
        else:
            self.selected_line.hide()

    def _clicked(self, item: Any, points: Any, *args: Any) -> None:
        if len(points):
            n = int(round(points[0].pos().x()))
            if 0 <= n < len(self.rows):
                self.layer_clicked.emit(self.rows[n].id)
