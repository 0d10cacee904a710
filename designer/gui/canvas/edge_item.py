"""An edge on the canvas: an arrow from an output port down to an input port.

Straight when the ports line up, an S-curve otherwise; an edge whose curve
would cross other blocks (a skip connection) detours through a vertical lane
beside them.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QColor, QPainter, QPainterPath, QPainterPathStroker, QPen, QPolygonF,
                           QTransform)
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem,
                               QWidget)

EDGE = QColor("#6b7280")
HOVER = QColor("#374151")
SELECTED = QColor("#1a73e8")
DROP_TARGET = QColor("#0f9d58")
ARROW = 8.0
LANE_MARGIN = 22.0
SAMPLES = 24
_SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable   # read once (12,500 edges)
_NO_PEN = Qt.PenStyle.NoPen


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """A cubic with vertical tangents at both ends (a straight line when x agrees)."""
    path = QPainterPath(start)
    dy = end.y() - start.y()
    if abs(start.x() - end.x()) < 0.5 and dy > 0:
        path.lineTo(end)
        return path
    bend = max(abs(dy) / 2, 40.0)
    path.cubicTo(QPointF(start.x(), start.y() + bend), QPointF(end.x(), end.y() - bend), end)
    return path


def detour(start: QPointF, end: QPointF, lane: float) -> QPainterPath:
    """Leave the port downwards, run down the lane x = `lane`, come back in."""
    path = QPainterPath(start)
    turn = min(46.0, max((end.y() - start.y()) / 3, 12.0))
    path.cubicTo(QPointF(start.x(), start.y() + turn * 0.7), QPointF(lane, start.y() + turn * 0.3),
                 QPointF(lane, start.y() + turn))
    path.lineTo(QPointF(lane, end.y() - turn))
    path.cubicTo(QPointF(lane, end.y() - turn * 0.3), QPointF(end.x(), end.y() - turn * 0.7), end)
    return path


def _hits(path: QPainterPath, obstacles: list[QRectF]) -> list[QRectF]:
    near = path.controlPointRect()   # the curve lies inside it: others cannot be hit
    left, right, top, bottom = near.left(), near.right(), near.top(), near.bottom()
    obstacles = [r for r in obstacles if r.left() <= right and r.right() >= left
                 and r.top() <= bottom and r.bottom() >= top]   # (a line has no area)
    if not obstacles:
        return []
    points = [path.pointAtPercent(i / SAMPLES) for i in range(1, SAMPLES)]
    return [r for r in obstacles if any(r.contains(p) for p in points)]


def route(start: QPointF, end: QPointF, obstacles: list[QRectF]) -> QPainterPath:
    """The edge's path; `obstacles` are the scene rects of the other blocks."""
    path = curve(start, end)
    if end.y() <= start.y():
        return path
    hit = _hits(path, obstacles)
    if not hit:
        return path
    between = [r for r in obstacles if r.bottom() > start.y() and r.top() < end.y()]
    mid = (start.x() + end.x()) / 2
    for _ in range(4):
        right = max(r.right() for r in hit) + LANE_MARGIN
        left = min(r.left() for r in hit) - LANE_MARGIN
        lane = right if abs(right - mid) <= abs(left - mid) else left
        path = detour(start, end, lane)
        more = _hits(path, between)
        if not more:
            break
        hit = hit + [r for r in more if r not in hit]
    return path


class EdgeItem(QGraphicsPathItem):
    """An edge src -> dst; selectable, highlighted on hover and as a drop target.
    src is the input reference ("id" or "id:port"); source is the layer id and
    port the output port index it leaves from.

    The item's own QPainterPath is only its bounds (a rectangle, with no pen):
    Qt then reads the bounding rect in C++, without a Python call per index
    query; path() is the route that is drawn."""

    def __init__(self, src: str, dst: str, source: str | None = None, port: int = 0) -> None:
        super().__init__()
        self.src, self.dst = src, dst
        self.source, self.port = source or src, port
        self.exporting = False
        self.drop_target = False
        self._hover = False
        self._arrow = QPolygonF()
        self._route = QPainterPath()
        self.setPen(QPen(_NO_PEN))
        self.setVisible(False)   # until routed: never painted or hit-tested unrouted
        self.setFlag(_SELECTABLE)
        self.setAcceptHoverEvents(True)
        self._tip_of: tuple[str, str] | None = None   # made when first wanted (12,500 edges)

    def toolTip(self) -> str:  # type: ignore[override]
        self._update_tooltip()
        return super().toolTip()

    def _update_tooltip(self) -> None:
        if self._tip_of != (self.src, self.dst):
            self._tip_of = (self.src, self.dst)
            self.setToolTip(f"{self.src} → {self.dst}")

    def path(self) -> QPainterPath:  # type: ignore[override]
        return self._route

    def set_route(self, path: QPainterPath) -> None:
        if path == self._route:
            return
        end = path.pointAtPercent(1.0)
        before = path.pointAtPercent(0.96)
        angle = math.atan2(end.y() - before.y(), end.x() - before.x())
        tip = end
        left = QPointF(end.x() - ARROW * math.cos(angle - 0.45),
                       end.y() - ARROW * math.sin(angle - 0.45))
        right = QPointF(end.x() - ARROW * math.cos(angle + 0.45),
                        end.y() - ARROW * math.sin(angle + 0.45))
        self._arrow = QPolygonF([tip, left, right])
        self._route = path
        bounds = QPainterPath()
        bounds.addRect(path.boundingRect().adjusted(-ARROW - 4, -ARROW - 4, ARROW + 4, ARROW + 4))
        self.setPath(bounds)   # prepares the geometry change and repaints
        if not self.isVisible():
            self.setVisible(True)

    def shift(self, delta: QPointF) -> None:
        """Move the route as it is (both blocks moved by delta)."""
        self._route.translate(delta)
        self._arrow.translate(delta)
        self.setPath(QGraphicsPathItem.path(self).translated(delta))

    def rename(self, src: str, dst: str, source: str | None = None) -> None:
        self.src, self.dst = src, dst
        self.source = source or src

    def set_drop_target(self, on: bool) -> None:
        if on != self.drop_target:
            self.drop_target = on
            self.update()

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12.0)
        return stroker.createStroke(self._route)

    def hoverEnterEvent(self, event: object) -> None:  # noqa: D401 - Qt override
        self._update_tooltip()   # before the view asks for it
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: object) -> None:
        self._hover = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        colour, width = EDGE, 1.6
        if self.drop_target:
            colour, width = DROP_TARGET, 3.0
        elif self.isSelected() and not self.exporting:
            colour, width = SELECTED, 2.6
        elif self._hover and not self.exporting:
            colour, width = HOVER, 2.2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._route)
        painter.setPen(QPen(colour, 1.0))
        painter.setBrush(colour)
        painter.drawPolygon(self._arrow)


_SWAP = QTransform(0.0, 1.0, 1.0, 0.0, 0.0, 0.0)   # (x, y) -> (y, x), its own inverse


def _swap(p: QPointF) -> QPointF:
    return QPointF(p.y(), p.x())


def flow_curve(start: QPointF, end: QPointF, horizontal: bool) -> QPainterPath:
    """curve() for either flow direction (left to right: the same curve, transposed)."""
    if not horizontal:
        return curve(start, end)
    return _SWAP.map(curve(_swap(start), _swap(end)))


def flow_route(start: QPointF, end: QPointF, obstacles: list[QRectF],
               horizontal: bool) -> QPainterPath:
    """route() for either flow direction."""
    if not horizontal:
        return route(start, end, obstacles)
    swapped = [_SWAP.mapRect(r) for r in obstacles]
    return _SWAP.map(route(_swap(start), _swap(end), swapped))
