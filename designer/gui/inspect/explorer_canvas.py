"""The explorer's picture: input grid (padding hatched, cells a ceil_mode window
runs over dashed), the kernel window with its dilation gaps, the output grid;
for a transposed convolution also the scatter view of the original input.
Clicking an output cell selects it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QMouseEvent, QPainter,
                           QPaintEvent, QPen)
from PySide6.QtWidgets import QSizePolicy, QWidget

from designer.core.conv_arithmetic import fmt
from designer.core.conv_explorer import ExplorerSpec

WINDOW = QColor(245, 150, 40)
OUTPUT = QColor(76, 139, 245)
PAD = QColor(225, 225, 225)
INSERTED = QColor(243, 240, 252)
PAST_EDGE = QColor(255, 236, 236)
GRID = QColor(150, 150, 150)
TEXT = QColor(40, 40, 40)
MUTED = QColor(130, 130, 130)
MIN_CELL, MAX_CELL = 7.0, 44.0
GAP = 34.0
TITLE_H = 20.0
LEGEND_H = 20.0


@dataclass
class Picture:
    """What to draw, set by the explorer."""
    spec: ExplorerSpec
    cell: tuple[int, int]
    visited: int                       # windows already passed (animation)
    x: np.ndarray | None = None        # the shown input channel, H×W
    out: np.ndarray | None = None      # the shown output channel, H_out×W_out
    sources: list[tuple[int, int]] = field(default_factory=list)   # transposed: inputs used


def short(v: float) -> str:
    """Two significant digits for a cell (the arithmetic below has more)."""
    if float(v).is_integer() and abs(v) < 1000:
        return fmt(v)
    if abs(v) < 0.005:    # 1.2e−03 does not fit a cell; the arithmetic has the exact value
        return "0"
    return fmt(float(f"{v:.2g}"))


class ExplorerCanvas(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picture: Picture | None = None
        self.cell_px = 20.0
        self._out_origin = QPointF()
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._metrics = QFontMetricsF(self.font())

    def sizeHint(self) -> QSize:
        return QSize(640, 300)

    def set_picture(self, picture: Picture | None) -> None:
        self.picture = picture
        self.update()

    # --- geometry ---------------------------------------------------------------
    def _grids(self, spec: ExplorerSpec) -> list[tuple[str, int, int]]:
        """(name, rows, cols) of each grid, left to right."""
        r, c = spec.rows, spec.cols
        main = ("input", r.last_drawn - r.first_drawn, c.last_drawn - c.first_drawn)
        grids = [main, ("output", r.out, c.out)]
        if spec.transposed is not None:
            grids.insert(0, ("scatter", spec.in_size[0], spec.in_size[1]))
        return grids

    def _layout(self, spec: ExplorerSpec) -> list[tuple[str, QRectF]]:
        grids = self._grids(spec)
        cols = sum(g[2] for g in grids)
        rows = max(g[1] for g in grids)
        avail_w = self.width() - GAP * (len(grids) - 1) - 16
        avail_h = self.height() - TITLE_H - LEGEND_H - 12
        self.cell_px = max(MIN_CELL, min(MAX_CELL, avail_w / max(cols, 1),
                                          avail_h / max(rows, 1)))
        x = 8.0
        out = []
        for name, nr, nc in grids:
            rect = QRectF(x, TITLE_H + 6, nc * self.cell_px, nr * self.cell_px)
            out.append((name, rect))
            x += rect.width() + GAP
        return out

    # --- painting ---------------------------------------------------------------
    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, False)
        p.fillRect(self.rect(), Qt.white)
        pic = self.picture
        if pic is None:
            p.end()
            return
        font = QFont(self.font())
        layout = self._layout(pic.spec)
        for name, rect in layout:
            p.setPen(TEXT)
            font.setPointSizeF(9)
            font.setBold(True)
            p.setFont(font)
            title_box = QRectF(rect.left(), 0, rect.width() + GAP - 6, TITLE_H)
            title = QFontMetricsF(font).elidedText(self._title(name, pic.spec), Qt.ElideRight,
                                                   title_box.width())
            p.drawText(title_box, Qt.AlignLeft | Qt.AlignVCenter, title)
            font.setBold(False)
            font.setPointSizeF(max(6.0, min(9.0, self.cell_px * 0.28)))
            p.setFont(font)
            self._metrics = QFontMetricsF(font)
            if name == "input":
                self._paint_input(p, rect, pic)
            elif name == "output":
                self._out_origin = rect.topLeft()
                self._paint_output(p, rect, pic)
            else:
                self._paint_scatter(p, rect, pic)
        bottom = max(rect.bottom() for _, rect in layout) + 6
        self._paint_legend(p, bottom, pic.spec)
        p.end()

    def _paint_legend(self, p: QPainter, top: float, spec: ExplorerSpec) -> None:
        items: list[tuple[str, QColor, Qt.BrushStyle | None, bool]] = [
            ("kernel taps", QColor(WINDOW.red(), WINDOW.green(), WINDOW.blue(), 120), None, False)]
        if spec.rows.pad_before > 0 or spec.cols.pad_before > 0 or spec.rows.pad_after > 0 \
                or spec.cols.pad_after > 0:
            items.append(("padding" + (" (−∞)" if spec.kind == "max" else ""), PAD,
                          Qt.BDiagPattern, False))
        if spec.transposed is not None:
            items.append(("inserted zero", INSERTED, None, False))
            items.append(("what one input writes", QColor(255, 255, 255), None, True))
        if spec.rows.last_drawn > spec.rows.size + max(spec.rows.pad_after, 0) or \
                spec.cols.last_drawn > spec.cols.size + max(spec.cols.pad_after, 0):
            items.append(("past the edge (ceil_mode)", PAST_EDGE, None, True))
        items.append(("current output", QColor(OUTPUT.red(), OUTPUT.green(), OUTPUT.blue(), 150),
                      None, False))
        font = QFont(self.font())
        font.setPointSizeF(8.5)
        p.setFont(font)
        metrics = QFontMetricsF(font)
        x = 8.0
        for text, colour, pattern, dashed in items:
            box = QRectF(x, top + 3, 12, 12)
            p.fillRect(box, colour)
            if pattern is not None:
                p.fillRect(box, QBrush(QColor(190, 190, 190), pattern))
            p.setPen(QPen(QColor(200, 90, 90) if dashed else GRID, 1,
                          Qt.DashLine if dashed else Qt.SolidLine))
            p.drawRect(box)
            p.setPen(TEXT)
            p.drawText(QPointF(x + 16, top + 13), text)
            x += 16 + metrics.horizontalAdvance(text) + 14

    def _title(self, name: str, spec: ExplorerSpec) -> str:
        h, w = spec.in_size
        if name == "output":
            return f"output {spec.rows.out}×{spec.cols.out}"
        if name == "scatter":
            return f"scatter: input {h}×{w}"
        if spec.transposed is not None:
            return "direct view: zeros inserted, padded, kernel flipped"
        label = f"input {h}×{w}" + (" (stand-in)" if spec.stand_in else "")
        if spec.rows.pad_before or spec.cols.pad_before or spec.rows.pad_after:
            label += " + padding"
        return label

    def _cell_rect(self, rect: QRectF, i: int, j: int) -> QRectF:
        s = self.cell_px
        return QRectF(rect.left() + j * s, rect.top() + i * s, s, s)

    def _text(self, p: QPainter, r: QRectF, text: str, colour: QColor = TEXT) -> None:
        """A value inside its cell, only when it fits."""
        if self.cell_px < 16:
            return
        p.setPen(colour)
        for candidate in (text, text.replace("0.", ".", 1)):   # −0.98 -> −.98 when tight
            if self._metrics.horizontalAdvance(candidate) <= r.width() - 2:
                p.drawText(r, Qt.AlignCenter, candidate)
                return
        scale = (r.width() - 2) / self._metrics.horizontalAdvance(candidate)
        if scale >= 0.7:   # a slightly smaller font still reads well
            font = QFont(p.font())
            font.setPointSizeF(font.pointSizeF() * scale)
            p.setFont(font)
            p.drawText(r, Qt.AlignCenter, candidate)
            font.setPointSizeF(font.pointSizeF() / scale)
            p.setFont(font)

    def _paint_input(self, p: QPainter, rect: QRectF, pic: Picture) -> None:
        spec = pic.spec
        r0, c0 = spec.rows.first_drawn, spec.cols.first_drawn
        n_rows = spec.rows.last_drawn - r0
        n_cols = spec.cols.last_drawn - c0
        padded_rows = (-spec.rows.pad_before, spec.rows.size + spec.rows.pad_after)
        padded_cols = (-spec.cols.pad_before, spec.cols.size + spec.cols.pad_after)
        for i in range(n_rows):
            for j in range(n_cols):
                row, col = i + r0, j + c0
                cell = self._cell_rect(rect, i, j)
                inside = spec.inside(row, col)
                src = spec.source(row, col)
                in_pad = (padded_rows[0] <= row < padded_rows[1]
                          and padded_cols[0] <= col < padded_cols[1])
                if not inside and not in_pad:          # a ceil_mode window runs past the edge
                    p.fillRect(cell, PAST_EDGE)
                    p.setPen(QPen(QColor(200, 90, 90), 1, Qt.DashLine))
                    p.drawRect(cell)
                    continue
                if not inside:
                    p.fillRect(cell, QBrush(PAD))
                    p.fillRect(cell, QBrush(QColor(190, 190, 190), Qt.BDiagPattern))
                elif src is None:
                    p.fillRect(cell, INSERTED)
                else:
                    p.fillRect(cell, self._shade(pic.x, src))
                p.setPen(QPen(GRID, 1))
                p.drawRect(cell)
                if src is not None and pic.x is not None:
                    self._text(p, cell, short(float(pic.x[src])))
                elif src is None and inside:
                    self._text(p, cell, "0", MUTED)
                elif spec.is_pool and not inside:
                    continue
                else:
                    self._text(p, cell, self._pad_text(spec), MUTED)
        # the real input's border
        p.setPen(QPen(TEXT, 2))
        p.drawRect(QRectF(rect.left() - c0 * self.cell_px, rect.top() - r0 * self.cell_px,
                          spec.cols.size * self.cell_px, spec.rows.size * self.cell_px))
        # the window: its span outlined, its taps filled (dilation gaps stay clear)
        taps = spec.window(*pic.cell)
        colour = QColor(WINDOW)
        colour.setAlpha(120)
        for _th, _tw, row, col in taps:
            p.fillRect(self._cell_rect(rect, row - r0, col - c0), colour)
        rows = [t[2] for t in taps]
        cols = [t[3] for t in taps]
        span = QRectF(rect.left() + (min(cols) - c0) * self.cell_px,
                      rect.top() + (min(rows) - r0) * self.cell_px,
                      (max(cols) - min(cols) + 1) * self.cell_px,
                      (max(rows) - min(rows) + 1) * self.cell_px)
        p.setPen(QPen(WINDOW.darker(130), 2.5))
        p.setBrush(Qt.NoBrush)
        p.drawRect(span)

    @staticmethod
    def _pad_text(spec: ExplorerSpec) -> str:
        if spec.kind == "max":
            return "−∞"
        return "0" if spec.padding_mode == "zeros" else "·"

    def _paint_output(self, p: QPainter, rect: QRectF, pic: Picture) -> None:
        spec = pic.spec
        done = QColor(OUTPUT)
        done.setAlpha(45)
        current = QColor(OUTPUT)
        current.setAlpha(150)
        for i in range(spec.rows.out):
            for j in range(spec.cols.out):
                cell = self._cell_rect(rect, i, j)
                index = i * spec.cols.out + j
                if (i, j) == pic.cell:
                    p.fillRect(cell, current)
                elif index < pic.visited:
                    p.fillRect(cell, done)
                p.setPen(QPen(GRID, 1))
                p.drawRect(cell)
                if pic.out is not None and (index <= pic.visited or (i, j) == pic.cell):
                    self._text(p, cell, short(float(pic.out[i, j])))
        if spec.transposed is not None:
            self._paint_footprints(p, rect, pic)
        p.setPen(QPen(OUTPUT.darker(140), 2.5))
        p.drawRect(self._cell_rect(rect, *pic.cell))

    def _paint_footprints(self, p: QPainter, rect: QRectF, pic: Picture) -> None:
        """Scatter view on the output: each input that reaches the current cell
        writes its value times the kernel into a k×k block (dashed); the blocks
        overlap on the current cell, where their contributions add up."""
        spec = pic.spec
        th, tw = spec.transposed  # type: ignore[misc]
        p.setPen(QPen(WINDOW.darker(120), 1.5, Qt.DashLine))
        p.setBrush(Qt.NoBrush)
        for i, j in pic.sources:
            rows = [o for o in th.targets(i) if 0 <= o < spec.rows.out]
            cols = [o for o in tw.targets(j) if 0 <= o < spec.cols.out]
            if rows and cols:
                top_left = self._cell_rect(rect, min(rows), min(cols)).topLeft()
                size = self.cell_px
                p.drawRect(QRectF(top_left.x() + 2, top_left.y() + 2,
                                  (max(cols) - min(cols) + 1) * size - 4,
                                  (max(rows) - min(rows) + 1) * size - 4))

    def _paint_scatter(self, p: QPainter, rect: QRectF, pic: Picture) -> None:
        spec = pic.spec
        used = QColor(WINDOW)
        used.setAlpha(120)
        h, w = spec.in_size
        for i in range(h):
            for j in range(w):
                cell = self._cell_rect(rect, i, j)
                p.fillRect(cell, self._shade(pic.x, (i, j)))
                if (i, j) in pic.sources:
                    p.fillRect(cell, used)
                p.setPen(QPen(GRID, 1))
                p.drawRect(cell)
                if pic.x is not None:
                    self._text(p, cell, short(float(pic.x[i, j])))
        p.setPen(QPen(TEXT, 2))
        p.drawRect(rect)

    @staticmethod
    def _shade(x: np.ndarray | None, pos: tuple[int, int]) -> QColor:
        """A light grey ramp so that the values stay readable on top."""
        if x is None or x.size == 0:
            return QColor(250, 250, 250)
        lo, hi = float(np.min(x)), float(np.max(x))
        t = 0.5 if hi <= lo else (float(x[pos]) - lo) / (hi - lo)
        v = int(255 - 70 * t)
        return QColor(v, v, v)

    # --- clicks -----------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pic = self.picture
        if pic is None:
            return
        for name, rect in self._layout(pic.spec):
            if name == "output" and rect.contains(event.position()):
                j = int((event.position().x() - rect.left()) // self.cell_px)
                i = int((event.position().y() - rect.top()) // self.cell_px)
                if 0 <= i < pic.spec.rows.out and 0 <= j < pic.spec.cols.out:
                    self.cell_clicked.emit(i, j)
                return

    def output_cell_centre(self, i: int, j: int) -> QPointF:
        """Where output cell (i, j) is on screen (tests click there)."""
        pic = self.picture
        assert pic is not None
        rect = dict(self._layout(pic.spec))["output"]
        return self._cell_rect(rect, i, j).center()
