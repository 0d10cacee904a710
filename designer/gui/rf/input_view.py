"""The enlarged input image with one unit's receptive field drawn on it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from designer.gui.rf.colormap import chw_to_rgb, heat_overlay, rgb_image, rgba_image
from designer.gui.rf.overlay_model import Box, Overlay

FIELD = QColor("#ffd400")
PADDING = QColor("#9aa5b1")
CENTRE = QColor("#ff2d55")
NEIGHBOUR = QColor("#00e5ff")


class InputImageWidget(QWidget):
    """Draws the image at an integer-free scale with nearest sampling; the
    world rectangle grows to include the parts of the field in padding."""

    pixel_clicked = Signal(float, float)   # (row, column) in input pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._image: QImage | None = None
        self._size = (32, 32)
        self._heat: QImage | None = None
        self.overlay: Overlay | None = None
        self.show_heat = True
        self.outside = False     # a volume's slice outside the field's depth range: grey

    def sizeHint(self) -> QSize:
        return QSize(280, 280)

    def set_image(self, chw: np.ndarray) -> None:
        self._image = rgb_image(chw_to_rgb(chw))
        self._size = (int(chw.shape[1]), int(chw.shape[2]))
        self.update()

    def set_overlay(self, overlay: Overlay | None) -> None:
        self.overlay = overlay
        self.update()

    def set_heat(self, heat: np.ndarray | None) -> None:
        self._heat = None if heat is None else rgba_image(heat_overlay(heat))
        self.update()

    def world(self) -> QRectF:
        """Input-pixel rectangle shown: the image plus any field outside it."""
        h, w = self._size
        rect = QRectF(0, 0, w, h)
        ov = self.overlay
        if ov is not None and not ov.whole:
            rect = rect.united(_rect(ov.box))
        return rect.adjusted(-0.5, -0.5, 0.5, 0.5)

    def scale(self) -> float:
        world = self.world()
        return max(0.5, min(self.width() / world.width(), self.height() / world.height()))

    def to_screen(self, x: float, y: float) -> QPointF:
        world, s = self.world(), self.scale()
        ox = (self.width() - world.width() * s) / 2
        oy = (self.height() - world.height() * s) / 2
        return QPointF(ox + (x - world.left()) * s, oy + (y - world.top()) * s)

    def to_pixel(self, point: QPointF) -> tuple[float, float]:
        """Screen point -> (row, column) in input-pixel coordinates."""
        world, s = self.world(), self.scale()
        ox = (self.width() - world.width() * s) / 2
        oy = (self.height() - world.height() * s) / 2
        return ((point.y() - oy) / s + world.top() - 0.5,
                (point.x() - ox) / s + world.left() - 0.5)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self.pixel_clicked.emit(*self.to_pixel(event.position()))
        super().mousePressEvent(event)

    def _screen_rect(self, r: QRectF) -> QRectF:
        return QRectF(self.to_screen(r.left(), r.top()), self.to_screen(r.right(), r.bottom()))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#20242a"))
        h, w = self._size
        image_rect = self._screen_rect(QRectF(0, 0, w, h))
        if self._image is not None:
            p.setRenderHint(QPainter.SmoothPixmapTransform, False)
            p.drawImage(image_rect, self._image)
        ov = self.overlay
        if ov is not None and ov.whole:
            p.fillRect(image_rect, QColor(255, 212, 0, 50))
            p.setPen(QPen(FIELD, 3))
            p.drawRect(image_rect)
        elif ov is not None:
            if self._heat is not None and self.show_heat:
                p.drawImage(image_rect, self._heat)
            self._draw_field(p, ov)
        p.end()

    def _draw_field(self, p: QPainter, ov: Overlay) -> None:
        p.setRenderHint(QPainter.Antialiasing, True)
        for part in ov.padding:   # hatched: these pixels are padding, not image
            r = self._screen_rect(_rect(part))
            p.fillRect(r, QColor(154, 165, 177, 70))
            p.fillRect(r, QBrush(PADDING, Qt.BDiagPattern))
        p.setBrush(Qt.NoBrush)
        colour = PADDING if self.outside else FIELD
        p.setPen(QPen(colour, 1.5, Qt.DashLine))
        p.drawRect(self._screen_rect(_rect(ov.box)))
        if ov.clipped is not None:
            p.setPen(QPen(colour, 2.5, Qt.DashLine if self.outside else Qt.SolidLine))
            p.drawRect(self._screen_rect(_rect(ov.clipped)))
        p.setPen(Qt.NoPen)
        p.setBrush(NEIGHBOUR)
        spacing = min(ov.rf.jump) * self.scale()
        for cy, cx in (ov.neighbours if spacing >= 6 else []):
            p.drawEllipse(self.to_screen(cx + 0.5, cy + 0.5), 2.2, 2.2)
        c = self.to_screen(ov.centre[1] + 0.5, ov.centre[0] + 0.5)
        p.setPen(QPen(CENTRE, 2.5))
        p.drawLine(c + QPointF(-7, 0), c + QPointF(7, 0))
        p.drawLine(c + QPointF(0, -7), c + QPointF(0, 7))


def _rect(b: Box) -> QRectF:
    """Inclusive pixel-centre box -> outline rectangle in pixel coordinates."""
    top, left, bottom, right = b
    return QRectF(left, top, right - left + 1, bottom - top + 1)
