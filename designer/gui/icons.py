"""Icons drawn with QPainter (no binary files): category swatches for the
palette and a few toolbar glyphs Qt's standard set lacks."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from designer.core.catalogue import CATEGORY_COLOURS

SIZE = 32


def _canvas() -> tuple[QPixmap, QPainter]:
    pix = QPixmap(SIZE, SIZE)
    pix.fill(Qt.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.Antialiasing)
    return pix, painter


@lru_cache(maxsize=None)
def category_icon(category: str) -> QIcon:
    """A rounded swatch in the category's colour (the canvas uses the same)."""
    colour = QColor(CATEGORY_COLOURS.get(category, "#888888"))
    pix, p = _canvas()
    p.setPen(QPen(colour.darker(130), 2))
    p.setBrush(colour)
    p.drawRoundedRect(QRectF(4, 7, 24, 18), 5, 5)
    p.end()
    return QIcon(pix)


@lru_cache(maxsize=None)
def template_icon() -> QIcon:
    """Three stacked blocks: a template inserts several layers."""
    pix, p = _canvas()
    for n, name in enumerate(("Convolution", "Normalization", "Activation")):
        colour = QColor(CATEGORY_COLOURS[name])
        p.setPen(QPen(colour.darker(130), 1.5))
        p.setBrush(colour)
        p.drawRoundedRect(QRectF(5 + n * 2, 4 + n * 9, 20, 7), 2, 2)
    p.end()
    return QIcon(pix)


@lru_cache(maxsize=None)
def zoom_icon(sign: str) -> QIcon:
    """A magnifier with '+', '−' or '□' (fit) or '1' (100 %)."""
    pix, p = _canvas()
    pen = QPen(QColor("#37474f"), 2.5)
    p.setPen(pen)
    p.drawEllipse(QPointF(13, 13), 9, 9)
    p.drawLine(QPointF(20, 20), QPointF(29, 29))
    pen.setWidthF(2.0)
    p.setPen(pen)
    if sign in "+-":
        p.drawLine(QPointF(9, 13), QPointF(17, 13))
    if sign == "+":
        p.drawLine(QPointF(13, 9), QPointF(13, 17))
    if sign == "fit":
        p.drawRect(QRectF(9, 9, 8, 8))
    p.end()
    return QIcon(pix)


@lru_cache(maxsize=None)
def layout_icon() -> QIcon:
    """Three boxes joined top to bottom: auto-layout."""
    pix, p = _canvas()
    p.setPen(QPen(QColor("#37474f"), 2))
    p.setBrush(QColor("#cfd8dc"))
    path = QPainterPath()
    path.moveTo(16, 9)
    path.lineTo(16, 23)
    path.moveTo(16, 16)
    path.lineTo(8, 23)
    p.drawPath(path)
    for rect in (QRectF(10, 2, 12, 7), QRectF(2, 23, 12, 7), QRectF(18, 23, 12, 7)):
        p.drawRoundedRect(rect, 2, 2)
    p.end()
    return QIcon(pix)


@lru_cache(maxsize=None)
def code_icon() -> QIcon:
    """'</>': export code."""
    pix, p = _canvas()
    p.setPen(QPen(QColor("#8e5cd9"), 2.5, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
    p.drawPolyline([QPointF(10, 8), QPointF(3, 16), QPointF(10, 24)])
    p.drawPolyline([QPointF(22, 8), QPointF(29, 16), QPointF(22, 24)])
    p.drawLine(QPointF(18, 6), QPointF(14, 26))
    p.end()
    return QIcon(pix)


@lru_cache(maxsize=None)
def severity_icon(severity: str) -> QIcon:
    """A red disc with '!' for errors, an amber triangle for warnings."""
    pix, p = _canvas()
    if severity == "error":
        p.setPen(Qt.NoPen)
        p.setBrush(QColor("#d32f2f"))
        p.drawEllipse(QRectF(2, 2, 28, 28))
    else:
        path = QPainterPath()
        path.moveTo(16, 2)
        path.lineTo(30, 29)
        path.lineTo(2, 29)
        path.closeSubpath()
        p.setPen(Qt.NoPen)
        p.setBrush(QColor("#f0a030"))
        p.drawPath(path)
    p.setPen(QPen(QColor("white"), 3.5, Qt.SolidLine, Qt.RoundCap))
    top = 8 if severity == "error" else 11
    p.drawLine(QPointF(16, top), QPointF(16, 19))
    p.drawPoint(QPointF(16, 25))
    p.end()
    return QIcon(pix)


def standard(name: str) -> QIcon:
    """One of Qt's standard icons, e.g. standard('SP_DialogSaveButton')."""
    style = QApplication.style()
    return style.standardIcon(getattr(QStyle.StandardPixmap, name))
