"""The selected layer's output map as a grid of units; click or drag to pick one."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from designer.gui.rf.colormap import normalise, rgb_image, viridis


class FeatureGridWidget(QWidget):
    unit_selected = Signal(int, int)   # (i, j)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.map_size: tuple[int, int] | None = None
        self.unit: tuple[int, int] = (0, 0)
        self._shade: QImage | None = None
        self.setCursor(Qt.CrossCursor)
        self.setToolTip("Click or drag over a unit to see its receptive field")

    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def set_map_size(self, size: tuple[int, int] | None) -> None:
        if size != self.map_size:
            self._shade = None
        self.map_size = size
        self.update()

    def set_activation(self, act: np.ndarray | None) -> None:
        """Shade the cells by the mean activation over channels (C×H×W)."""
        if act is None or act.ndim != 3 or self.map_size != act.shape[1:]:
            self._shade = None
        else:
            self._shade = rgb_image(viridis(normalise(act.mean(axis=0))))
        self.update()

    def select_unit(self, i: int, j: int) -> None:
        """Pick unit (i, j) (clamped to the map) and announce it."""
        if self.map_size is None:
            return
        i = min(max(i, 0), self.map_size[0] - 1)
        j = min(max(j, 0), self.map_size[1] - 1)
        self.unit = (i, j)
        self.update()
        self.unit_selected.emit(i, j)

    def cell_rect(self, i: int, j: int) -> QRectF:
        g = self._geometry()
        assert g is not None
        ox, oy, cell = g
        return QRectF(ox + j * cell, oy + i * cell, cell, cell)

    def _geometry(self) -> tuple[float, float, float] | None:
        if self.map_size is None:
            return None
        h, w = self.map_size
        cell = min((self.width() - 8) / w, (self.height() - 8) / h)
        cell = max(cell, 0.5)
        return (self.width() - w * cell) / 2, (self.height() - h * cell) / 2, cell

    def unit_at(self, pos: QPointF) -> tuple[int, int] | None:
        g = self._geometry()
        if g is None or self.map_size is None:
            return None
        ox, oy, cell = g
        i, j = int((pos.y() - oy) // cell), int((pos.x() - ox) // cell)
        if 0 <= i < self.map_size[0] and 0 <= j < self.map_size[1]:
            return i, j
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        unit = self.unit_at(event.position())
        if unit is not None and event.button() == Qt.LeftButton:
            self.select_unit(*unit)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.LeftButton:
            unit = self.unit_at(event.position())
            if unit is not None and unit != self.unit:
                self.select_unit(*unit)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#20242a"))
        g = self._geometry()
        if g is None or self.map_size is None:
            p.end()
            return
        ox, oy, cell = g
        h, w = self.map_size
        full = QRectF(ox, oy, w * cell, h * cell)
        if self._shade is not None:
            p.drawImage(full, self._shade)
        else:
            p.fillRect(full, QColor("#3a4250"))
        if cell >= 4:
            p.setPen(QPen(QColor(0, 0, 0, 110), 1))
            for i in range(h + 1):
                p.drawLine(QPointF(ox, oy + i * cell), QPointF(ox + w * cell, oy + i * cell))
            for j in range(w + 1):
                p.drawLine(QPointF(ox + j * cell, oy), QPointF(ox + j * cell, oy + h * cell))
        p.setPen(QPen(QColor("#ffd400"), 2.5))
        p.setBrush(Qt.NoBrush)
        r = self.cell_rect(*self.unit)
        p.drawRect(r.adjusted(-1, -1, 1, 1))
        p.end()
