"""A layer on the canvas: a rounded card with a category-coloured header.

The item only draws what it is told (BlockText); it never reads or changes
the model. Its position is its centre; the scene turns a finished drag into a
MoveLayersCommand.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath,
                           QPen, QPolygonF)
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem,
                               QWidget)

from designer.core.catalogue import CATEGORY_COLOURS
from designer.gui.canvas.block_text import BlockText
from designer.gui.canvas.layout import BLOCK_H, BLOCK_W

# Qt enums read once: an enum member lookup is a Python call, 10,000 blocks
_SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
_MOVABLE = QGraphicsItem.GraphicsItemFlag.ItemIsMovable
_NO_PEN = Qt.PenStyle.NoPen
_DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
HEADER_H = 22.0
PAD = 8.0
PORT_R = 5.0
PORT_HIT = 9.0
PORT_LABEL_H = 12.0  # room under the block for output-port labels
RADIUS = 7.0
OVERVIEW_BELOW = 0.55   # zoom under which a block shows only name and shape, large
OVERVIEW_PX = 12.0      # their on-screen size in pixels (while they fit the block)

TEXT = QColor("#1f2430")
MUTED = QColor("#5f6673")
SELECTED = QColor("#1a73e8")
ERROR = QColor("#d93025")
WARNING = QColor("#f29900")
OUTLINE = QColor("#9aa1ad")
TARGET = QColor("#0f9d58")


def mix(colour: str | QColor, amount: float, base: str = "#ffffff") -> QColor:
    """`amount` of colour over base (0: base, 1: colour)."""
    c, b = QColor(colour), QColor(base)
    return QColor(round(b.red() + (c.red() - b.red()) * amount),
                  round(b.green() + (c.green() - b.green()) * amount),
                  round(b.blue() + (c.blue() - b.blue()) * amount))


class _Fonts:
    """Fonts and metrics, made once a QApplication exists."""
    title: QFont
    body: QFont
    bold: QFont
    small: QFont
    ready = False

    @classmethod
    def get(cls) -> type["_Fonts"]:
        if not cls.ready:
            cls.title = QFont()
            cls.title.setPointSizeF(9.0)
            cls.title.setBold(True)
            cls.body = QFont()
            cls.body.setPointSizeF(8.5)
            cls.bold = QFont(cls.body)
            cls.bold.setBold(True)
            cls.small = QFont()
            cls.small.setPointSizeF(7.5)
            cls.small.setBold(True)
            cls.ready = True
        return cls


def elide(text: str, font: QFont, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, max(width, 0.0))


def text_width(text: str, font: QFont) -> float:
    return QFontMetricsF(font).horizontalAdvance(text)


class BlockItem(QGraphicsRectItem):
    """One block. `on_moved(item)` is called while it is dragged (by the scene).

    Cheap to make, as a 10,000-layer design makes 10,000 of them: the bounding
    rect is the C++ rect of QGraphicsRectItem (no Python call per index query),
    the elided lines are laid out at the first paint and the tooltip at the
    first hover."""

    def __init__(self, layer_id: str, text: BlockText, is_input: bool = False,
                 on_moved: Callable[["BlockItem"], None] | None = None) -> None:
        super().__init__()
        self.layer_id = layer_id
        self.is_input = is_input
        self._on_moved = on_moved
        self.exporting = False
        self.hovered = False
        self.connect_target = False     # highlighted while a connection is dragged onto it
        self.text = text
        self.text_key: tuple[Any, ...] | None = None   # see block_text.text_key
        self._laid_out: dict[str, Any] | None = None    # see _lines
        self._tip_of: BlockText | None = None           # the text the tooltip was made for
        self._shape: QPainterPath | None = None
        self.painted_as = ""            # "full" or "overview": the last paint's detail
        self.horizontal = False         # ports left and right (see set_horizontal)
        self.setFlags(_SELECTABLE if is_input else _SELECTABLE | _MOVABLE)
        self.setPen(QPen(_NO_PEN))
        self.setAcceptHoverEvents(True)
        self.setCacheMode(_DEVICE_CACHE)
        self.setZValue(1.0)
        self._set_bounds()

    # --- content -------------------------------------------------------
    def set_text(self, text: BlockText, force: bool = False) -> bool:
        """Show new text; False (and no repaint) when nothing changed."""
        if text == self.text and not force:
            return False
        ports_changed = len(text.ports) != len(self.text.ports)
        self.text = text
        self._laid_out = None
        if ports_changed:
            self._shape = None             # the ports change the shape
            self._set_bounds()             # and port labels the bounding rect
        self.update()
        return True

    def toolTip(self) -> str:  # type: ignore[override]
        self._update_tooltip()
        return super().toolTip()

    def _update_tooltip(self) -> None:
        if self._tip_of is not self.text:
            self._tip_of = self.text
            self.setToolTip(self.text.tooltip)

    @property
    def _lines(self) -> dict[str, Any]:
        if self._laid_out is None:
            self._laid_out = self._layout_text()
        return self._laid_out

    def _layout_text(self) -> dict[str, Any]:
        f = _Fonts.get()
        t = self.text
        inner = BLOCK_W - 2 * PAD
        rf_w = text_width(t.rf, f.small) + 10 if t.rf else 0.0
        icon_w = 18.0 if (t.errors or t.warnings) else 0.0
        title_w = inner - rf_w - icon_w - (4 if rf_w or icon_w else 0)
        type_full, detail_full = text_width(t.type_name, f.bold), text_width(t.detail, f.body)
        if type_full + 8 + detail_full <= inner:
            type_w = type_full
        else:   # the type keeps its name where it can; the detail is elided first
            type_w = min(type_full, max(inner * 0.75 - 8, inner - 8 - detail_full))
        params_w = min(text_width(t.params, f.body), inner * 0.5)
        return {
            "title": elide(t.title, f.title, title_w),
            "type": elide(t.type_name, f.bold, type_w),
            "type_w": type_w,
            "detail": elide(t.detail, f.body, inner - type_w - 8),
            "shape": elide(t.shape, f.bold, inner - params_w - 8),
            "params": elide(t.params, f.body, params_w),
            "params_w": params_w,
            "rf_w": rf_w,
        }

    # --- geometry ------------------------------------------------------
    @staticmethod
    def rect() -> QRectF:  # type: ignore[override]
        """The card (QGraphicsRectItem's own rect is the bounding rect)."""
        return QRectF(-BLOCK_W / 2, -BLOCK_H / 2, BLOCK_W, BLOCK_H)

    def _set_bounds(self) -> None:
        labels = PORT_LABEL_H if len(self.text.ports) > 1 else 0.0
        self.setRect(self.rect().adjusted(-PORT_R - 3, -PORT_R - 3, PORT_R + 3,
                                          PORT_R + 3 + labels))

    def shape(self) -> QPainterPath:
        # A union, not subpaths: with the default odd-even fill the half of each port
        # circle that lies on the block would be a hole (presses there missed).
        if self._shape is None:
            path = QPainterPath()
            path.addRoundedRect(self.rect(), RADIUS, RADIUS)
            ports = QPainterPath()
            ports.setFillRule(Qt.FillRule.WindingFill)
            for index in range(len(self.text.ports)):
                ports.addEllipse(self.output_port_local(index), PORT_HIT, PORT_HIT)
            if not self.is_input:
                ports.addEllipse(self.input_port_local(), PORT_HIT, PORT_HIT)
            self._shape = path.united(ports)
        return self._shape

    def set_horizontal(self, on: bool) -> None:
        """Left-to-right flow: inputs arrive on the left edge, the outputs leave right."""
        if on != self.horizontal:
            self.prepareGeometryChange()
            self.horizontal = on
            self._shape = None
            self.update()

    def output_port_at(self, index: int, count: int) -> QPointF:
        """Where output port `index` of `count` leaves (local): layers with
        several outputs (Split, MaxPool2d with indices) spread them along the
        output edge, port 0 first."""
        if self.horizontal:
            if count <= 1:
                return QPointF(BLOCK_W / 2, 0.0)
            spacing = min(16.0, (BLOCK_H - 16) / (count - 1))
            return QPointF(BLOCK_W / 2, (index - (count - 1) / 2) * spacing)
        if count <= 1:
            return QPointF(0.0, BLOCK_H / 2)
        spacing = min(44.0, (BLOCK_W - 40) / (count - 1))
        return QPointF((index - (count - 1) / 2) * spacing, BLOCK_H / 2)

    def output_port_local(self, index: int = 0) -> QPointF:
        return self.output_port_at(index, len(self.text.ports))

    def input_port_local(self) -> QPointF:
        return QPointF(-BLOCK_W / 2, 0.0) if self.horizontal else QPointF(0.0, -BLOCK_H / 2)

    def output_port(self, index: int = 0) -> QPointF:
        return self.mapToScene(self.output_port_local(index))

    def output_port_index(self, scene_pos: QPointF) -> int | None:
        """The output port under scene_pos (the nearest one), or None."""
        local = self.mapFromScene(scene_pos)
        best: tuple[float, int] | None = None
        for index in range(len(self.text.ports)):
            d = local - self.output_port_local(index)
            dist = d.x() ** 2 + d.y() ** 2
            if dist <= PORT_HIT ** 2 and (best is None or dist < best[0]):
                best = (dist, index)
        return None if best is None else best[1]

    def input_port_at(self, index: int, count: int) -> QPointF:
        """Where input `index` of `count` arrives (local): merges fan their
        inputs out along the input edge so that each one stays visible."""
        if count <= 1:
            return self.input_port_local()
        if self.horizontal:
            spacing = min(16.0, (BLOCK_H - 16) / (count - 1))
            return QPointF(-BLOCK_W / 2, (index - (count - 1) / 2) * spacing)
        spacing = min(44.0, (BLOCK_W - 40) / (count - 1))
        return QPointF((index - (count - 1) / 2) * spacing, -BLOCK_H / 2)

    def input_port(self, index: int = 0, count: int = 1) -> QPointF:
        return self.mapToScene(self.input_port_at(index, count))

    def on_output_port(self, scene_pos: QPointF) -> bool:
        return self.output_port_index(scene_pos) is not None

    def scene_rect(self) -> QRectF:
        """The card in the scene (blocks are never rotated, scaled or parented)."""
        p = self.pos()
        return QRectF(p.x() - BLOCK_W / 2, p.y() - BLOCK_H / 2, BLOCK_W, BLOCK_H)

    def set_connect_target(self, on: bool) -> None:
        if on != self.connect_target:
            self.connect_target = on
            self.update()

    def hoverEnterEvent(self, event: Any) -> None:
        self._update_tooltip()   # before the view asks for it
        self.hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: Any) -> None:
        self.hovered = False
        self.unsetCursor()
        self.update()
        super().hoverLeaveEvent(event)

    def hoverMoveEvent(self, event: Any) -> None:
        """A cross over the output port says: drag from here to connect."""
        if self.on_output_port(event.scenePos()):
            self.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.unsetCursor()
        super().hoverMoveEvent(event)

    # --- painting ------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        t = self.text
        colour = QColor(CATEGORY_COLOURS.get(t.category, "#9aa5b1"))
        rect = self.rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < OVERVIEW_BELOW and not self.exporting:
            self.painted_as = "overview"
            self._paint_overview(painter, rect, colour, lod)
            return
        self.painted_as = "full"
        body = QPainterPath()
        body.addRoundedRect(rect, RADIUS, RADIUS)
        painter.fillPath(body, mix(colour, 0.07))
        header = QPainterPath()
        header.addRoundedRect(QRectF(rect.left(), rect.top(), rect.width(), HEADER_H + RADIUS),
                              RADIUS, RADIUS)
        clip = QPainterPath()
        clip.addRect(QRectF(rect.left(), rect.top(), rect.width(), HEADER_H))
        painter.fillPath(header.intersected(clip), mix(colour, 0.30))
        painter.fillRect(QRectF(rect.left(), rect.top() + HEADER_H - 2, rect.width(), 2), colour)

        selected = self.isSelected() and not self.exporting
        if self.connect_target and not self.exporting:
            pen = QPen(TARGET, 3.0)
        elif t.errors:
            pen = QPen(ERROR, 2.4)
        elif selected:
            pen = QPen(SELECTED, 2.4)
        elif self.hovered and not self.exporting:
            pen = QPen(OUTLINE.darker(140), 1.4)
        else:
            pen = QPen(OUTLINE, 1.1)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        if selected and t.errors:
            painter.setPen(QPen(SELECTED, 1.5, Qt.PenStyle.DashLine))
            painter.drawRoundedRect(rect.adjusted(-4, -4, 4, 4), RADIUS + 3, RADIUS + 3)

        self._paint_header(painter, rect, colour)
        self._paint_body(painter, rect)
        self._paint_ports(painter, colour)

    @staticmethod
    def overview_font_size(lod: float, lines: int = 2) -> float:
        """Pixel size (in scene units) of the overview's lines: OVERVIEW_PX on screen
        where `lines` of it fit in the block, else as large as they fit."""
        return min(OVERVIEW_PX / max(lod, 1e-3), (BLOCK_H - 6) / lines / 1.15)

    @classmethod
    def overview_lines(cls, lod: float) -> int:
        """Name and shape while both stay readable (9 px), else the name alone."""
        return 2 if cls.overview_font_size(lod, 2) * lod >= 9.0 else 1

    def _paint_overview(self, painter: QPainter, rect: QRectF, colour: QColor,
                        lod: float) -> None:
        """Zoomed out, small text is noise: the block is its type colour with its
        name and output shape in large type (level of detail)."""
        t = self.text
        pen = (QPen(TARGET, 3.0 / lod) if self.connect_target else
               QPen(ERROR, 3.0 / lod) if t.errors else
               QPen(SELECTED, 3.0 / lod) if self.isSelected() else
               QPen(mix(colour, 0.9, "#30343b"), 1.0 / lod))
        painter.setPen(pen)
        painter.setBrush(mix(colour, 0.55))
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        lines = self.overview_lines(lod)
        font = QFont(_Fonts.get().bold)
        font.setPixelSize(max(1, round(self.overview_font_size(lod, lines))))
        painter.setFont(font)
        inner = rect.adjusted(PAD / 2, 3, -PAD / 2, -3)
        centre = Qt.AlignmentFlag.AlignCenter
        painter.setPen(TEXT)
        if lines == 1:
            painter.drawText(inner, centre, elide(t.title, font, inner.width()))
            return
        half = inner.height() / 2
        top = QRectF(inner.left(), inner.top(), inner.width(), half)
        bottom = QRectF(inner.left(), inner.top() + half, inner.width(), half)
        painter.drawText(top, centre, elide(t.title, font, inner.width()))
        painter.setPen(TEXT if t.shape != "?" else ERROR)
        painter.drawText(bottom, centre, elide(t.shape, font, inner.width()))

    def _paint_header(self, painter: QPainter, rect: QRectF, colour: QColor) -> None:
        f, t, lines = _Fonts.get(), self.text, self._lines
        painter.setPen(TEXT)
        painter.setFont(f.title)
        title_rect = QRectF(rect.left() + PAD, rect.top(), rect.width() - 2 * PAD, HEADER_H)
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         lines["title"])
        right = rect.right() - PAD
        if t.rf:
            w = lines["rf_w"]
            badge = QRectF(right - w, rect.top() + 4, w, HEADER_H - 8)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 255, 255, 235))
            painter.drawRoundedRect(badge, 6, 6)
            painter.setPen(mix(colour, 0.9, "#202020"))
            painter.setFont(f.small)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, t.rf)
            right = badge.left() - 4
        if t.errors or t.warnings:
            self._paint_marker(painter, QPointF(right - 8, rect.top() + HEADER_H / 2),
                               ERROR if t.errors else WARNING)

    @staticmethod
    def _paint_marker(painter: QPainter, centre: QPointF, colour: QColor) -> None:
        """A warning triangle with an exclamation mark."""
        x, y = centre.x(), centre.y()
        tri = QPolygonF([QPointF(x, y - 7), QPointF(x + 8, y + 6), QPointF(x - 8, y + 6)])
        painter.setPen(QPen(colour.darker(115), 1.0))
        painter.setBrush(colour)
        painter.drawPolygon(tri)
        painter.setPen(QPen(QColor("white"), 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(x, y - 3), QPointF(x, y + 1.2))
        painter.drawPoint(QPointF(x, y + 3.8))

    def _paint_body(self, painter: QPainter, rect: QRectF) -> None:
        f, lines = _Fonts.get(), self._lines
        left, width = rect.left() + PAD, rect.width() - 2 * PAD
        line_h = (rect.height() - HEADER_H - 4) / 2
        row1 = QRectF(left, rect.top() + HEADER_H + 2, width, line_h)
        row2 = QRectF(left, row1.bottom(), width, line_h)
        vcenter = Qt.AlignmentFlag.AlignVCenter
        painter.setPen(TEXT)
        painter.setFont(f.bold)
        painter.drawText(row1, Qt.AlignmentFlag.AlignLeft | vcenter, lines["type"])
        painter.setPen(MUTED)
        painter.setFont(f.body)
        painter.drawText(row1.adjusted(lines["type_w"] + 8, 0, 0, 0),
                         Qt.AlignmentFlag.AlignLeft | vcenter, lines["detail"])
        painter.setPen(TEXT if self.text.shape != "?" else ERROR)
        painter.setFont(f.bold)
        painter.drawText(row2, Qt.AlignmentFlag.AlignLeft | vcenter, lines["shape"])
        painter.setPen(MUTED)
        painter.setFont(f.body)
        painter.drawText(row2, Qt.AlignmentFlag.AlignRight | vcenter, lines["params"])

    def _paint_ports(self, painter: QPainter, colour: QColor) -> None:
        painter.setPen(QPen(mix(colour, 0.85, "#30343b"), 1.2))
        # the design's output has a filled port: nothing reads it but the loss
        painter.setBrush(QBrush(mix(colour, 0.85, "#30343b") if self.text.is_output
                                else QColor("white")))
        ports = self.text.ports
        for index in range(len(ports)):
            painter.drawEllipse(self.output_port_local(index), PORT_R, PORT_R)
        if len(ports) > 1:
            self._paint_port_labels(painter)
        painter.setBrush(QBrush(QColor("white")))
        if not self.is_input:
            count = self.text.inputs
            for i in range(count):
                painter.drawEllipse(self.input_port_at(i, count), PORT_R - 1.5, PORT_R - 1.5)

    def _paint_port_labels(self, painter: QPainter) -> None:
        """Each output port's name, just right of and below the port."""
        painter.setPen(MUTED)
        painter.setFont(_Fonts.get().small)
        for index, name in enumerate(self.text.ports):
            at = self.output_port_local(index)
            box = QRectF(at.x() + PORT_R - 1, at.y() + 1, 40.0, PORT_LABEL_H)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             elide(name, _Fonts.get().small, 40.0))

    def port_labels(self) -> list[str]:
        """The labels drawn at the output ports (none for a single output)."""
        return list(self.text.ports) if len(self.text.ports) > 1 else []
