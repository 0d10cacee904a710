"""The receptive field of a 1-D or 3-D layer, inside the receptive-field view.

3-D: the field's depth range on a bar of the input's slices, and the field's
height x width box drawn on a chosen slice of a volume (the slice slider).
1-D: the field's span shaded on a plotted signal (pyqtgraph). Spin boxes, or a
click on the slice or the plot, pick the unit of the layer's output map (its
centre by default).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QSizePolicy, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from designer.core.analysis import Analysis
from designer.core.catalogue import axis_names
from designer.gui.rf import overlay_nd
from designer.gui.rf.colormap import normalise, viridis
from designer.gui.rf.feature_maps import MAX_TILES, MosaicView, activation_tiles
from designer.gui.rf.input_view import CENTRE, FIELD, InputImageWidget
from designer.gui.rf.overlay_nd import FieldND, field_label, span_text

OUTSIDE = QColor("#5b6470")


class DepthBar(QWidget):
    """The input's slices left to right: the field's depth range in yellow,
    the shown slice outlined in red."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.depth = 1
        self.span: tuple[float, float] | None = None
        self.current = 0
        self.setMinimumHeight(22)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(240, 24)

    def set_state(self, depth: int, span: tuple[float, float] | None, current: int) -> None:
        self.depth, self.span, self.current = max(1, depth), span, current
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        w = (self.width() - 2) / self.depth
        for d in range(self.depth):
            inside = self.span is not None and self.span[0] <= d <= self.span[1]
            r = QRectF(1 + d * w, 3, max(1.0, w - 1), self.height() - 6)
            p.fillRect(r, FIELD if inside else OUTSIDE)
        r = QRectF(1 + self.current * w, 1, max(2.0, w - 1), self.height() - 2)
        p.setPen(QPen(CENTRE, 2))
        p.setBrush(Qt.NoBrush)
        p.drawRect(r)
        p.end()


class NdFieldView(QWidget):
    unit_changed = Signal()
    slice_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rank = 0
        self.field: FieldND | None = None
        self.sample: np.ndarray | None = None
        self.unit_boxes: list[QSpinBox] = []
        self.header = QLabel()
        self.header.setStyleSheet("font-weight: bold;")
        self.header.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        # 3-D
        self.slice_view = InputImageWidget()
        self.slice_view.setToolTip("Click to pick the unit whose field is centred nearest")
        self.slice_view.pixel_clicked.connect(self._on_slice_click)
        self.depth_bar = DepthBar()
        self.slice_slider = QSlider(Qt.Horizontal)
        self.slice_slider.setToolTip("Which slice (frame) of the input volume to show")
        self.slice_slider.valueChanged.connect(self._on_slice)
        self.slice_label = QLabel()
        # 1-D
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setLabel("bottom", "position (samples)")
        self.plot.setMinimumHeight(160)
        self.plot.setToolTip("Click to pick the unit whose field is centred nearest")
        self.curve = self.plot.plot(pen=pg.mkPen("#1f4e79", width=1.5))
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 212, 0, 90),
                                          pen=pg.mkPen("#c9a400"))
        self.padding_regions = [pg.LinearRegionItem(movable=False,
                                                     brush=pg.mkBrush(154, 165, 177, 90),
                                                     pen=pg.mkPen(None)) for _ in range(2)]
        self.centre_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#ff2d55", width=2))
        for item in (*self.padding_regions, self.region, self.centre_line):
            self.plot.addItem(item)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_click)
        self.units_row = QHBoxLayout()
        self.units_row.addWidget(QLabel("Unit"))
        self.units_row.addStretch(1)
        self.slice_row = QWidget()
        slice_row = QHBoxLayout(self.slice_row)
        slice_row.setContentsMargins(0, 0, 0, 0)
        slice_row.addWidget(QLabel("Slice"))
        slice_row.addWidget(self.slice_slider, 1)
        slice_row.addWidget(self.slice_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.header)
        lay.addWidget(self.slice_view, 1)
        lay.addWidget(self.depth_bar)
        lay.addWidget(self.slice_row)
        lay.addWidget(self.plot, 1)
        lay.addLayout(self.units_row)
        lay.addWidget(self.detail)
        self._slice_widgets = [self.slice_view, self.depth_bar, self.slice_row]

    # --- state -------------------------------------------------------------
    @property
    def slice_index(self) -> int:
        return self.slice_slider.value()

    @property
    def unit(self) -> tuple[int, ...]:
        return tuple(b.value() for b in self.unit_boxes)

    def set_slice(self, index: int) -> None:
        self.slice_slider.setValue(index)

    def set_unit(self, unit: tuple[int, ...]) -> None:
        for box, value in zip(self.unit_boxes, unit):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self._redraw()
        self.unit_changed.emit()

    def show_layer(self, analysis: Analysis, layer_id: str | None) -> None:
        """Draw the field of layer_id's unit (kept where it still fits)."""
        self.analysis, self.layer_id = analysis, layer_id
        shape = tuple(int(v) for v in analysis.input_shape)
        self.rank = len(shape) - 1
        if self.rank == 3:
            self.sample = overlay_nd.demo_volume(*shape)
            depth = shape[1]
            self.slice_slider.blockSignals(True)
            self.slice_slider.setRange(0, max(0, depth - 1))
            self.slice_slider.blockSignals(False)
        else:
            self.sample = overlay_nd.demo_signal(*shape)
        for w in self._slice_widgets:
            w.setVisible(self.rank == 3)
        self.plot.setVisible(self.rank == 1)
        self._set_unit_boxes(overlay_nd.map_size(analysis, layer_id))
        self._redraw()

    def _set_unit_boxes(self, size: tuple[int, ...] | None) -> None:
        old = self.unit
        shape = tuple(b.maximum() + 1 for b in self.unit_boxes)
        for box in self.unit_boxes:
            self.units_row.removeWidget(box)
            box.hide()               # gone now, not only at the next event-loop turn
            box.setParent(None)
            box.deleteLater()
        self.unit_boxes = []
        if size is None:
            return
        keep = shape == size
        for a, n in enumerate(size):
            box = QSpinBox()
            box.setRange(0, n - 1)
            box.setPrefix(f"{axis_names(len(size))[a]} ")
            box.setValue(old[a] if keep else n // 2)
            box.setToolTip("Which unit of the layer's output map (index on this axis)")
            box.valueChanged.connect(lambda _v: (self._redraw(), self.unit_changed.emit()))
            self.units_row.insertWidget(1 + a, box)
            self.unit_boxes.append(box)

    def pick(self, position: dict[int, float]) -> None:
        """Select the unit whose field is centred nearest to these input
        coordinates ({axis: position}); other axes keep their unit."""
        f = self.field
        if f is None or f.whole or not self.unit_boxes:
            return
        unit = list(self.unit)
        for axis, where in position.items():
            jump = f.rf.jump[axis] or 1.0
            box = self.unit_boxes[axis]
            unit[axis] = min(max(round((where - f.rf.start[axis]) / jump), 0), box.maximum())
        self.set_unit(tuple(unit))

    def _on_slice_click(self, row: float, column: float) -> None:
        self.pick({1: row, 2: column})

    def _on_plot_click(self, event: object) -> None:
        view_box = self.plot.getPlotItem().vb
        point = view_box.mapSceneToView(event.scenePos())  # type: ignore[attr-defined]
        self.pick({0: point.x()})

    def _on_slice(self, index: int) -> None:
        self._redraw()
        self.slice_changed.emit(index)

    # --- drawing -------------------------------------------------------------
    def _redraw(self) -> None:
        lid = getattr(self, "layer_id", None)
        self.field = overlay_nd.field(self.analysis, lid, self.unit) if lid else None
        f = self.field
        if lid is None:
            self.header.setText("Select a block to see its receptive field.")
        elif f is None:
            self.header.setText(f"{lid}: no receptive field (the layer has errors upstream)")
        else:
            self.header.setText(f"{lid}: {field_label(f)}")
        if self.rank == 3:
            self._draw_volume(f)
        else:
            self._draw_signal(f)

    def _draw_volume(self, f: FieldND | None) -> None:
        assert self.sample is not None
        d = self.slice_index
        depth = self.sample.shape[1]
        self.slice_view.set_image(self.sample[:, min(d, depth - 1)])
        self.slice_label.setText(f"{d} of {depth}")
        if f is None:
            self.slice_view.set_overlay(None)
            self.depth_bar.set_state(depth, None, d)
            self.detail.setText("")
            return
        self.depth_bar.set_state(depth, f.spans[0].clipped, d)
        self.slice_view.outside = not f.whole and not f.spans[0].contains(d)
        self.slice_view.set_overlay(f.slice_overlay())
        if f.whole:
            self.detail.setText("After Flatten, Linear or global pooling every unit depends "
                                "on every voxel of every slice.")
            return
        inside = f.spans[0].contains(d)
        where = (f"slice {d} is inside the field's depth range" if inside else
                 f"slice {d} is outside the field's depth range: this unit does not see it "
                 "(the grey dashed box shows where it would be)")
        names = axis_names(3)
        self.detail.setText(f"Unit ({', '.join(map(str, f.unit))}): " + "; ".join(
            span_text(s, n) for s, n in zip(f.spans, names)) + f". Yellow bar: the depth "
            f"range; {where}.")

    def _draw_signal(self, f: FieldND | None) -> None:
        assert self.sample is not None
        length = self.sample.shape[1]
        self.curve.setData(np.arange(length), self.sample[0].astype(np.float32) / 255.0)
        show = f is not None
        self.region.setVisible(show)
        self.centre_line.setVisible(show and not (f is not None and f.whole))
        for r in self.padding_regions:
            r.setVisible(False)
        if f is None:
            self.detail.setText("")
            return
        span = f.spans[0]
        self.region.setRegion((span.lo - 0.5, span.hi + 0.5))
        self.centre_line.setValue(span.centre)
        parts = [(span.lo - 0.5, -0.5)] if span.lo < 0 else []
        if span.hi > length - 1:
            parts.append((length - 0.5, span.hi + 0.5))
        for r, part in zip(self.padding_regions, parts):
            r.setRegion(part)
            r.setVisible(True)
        # a window around the field (drag to pan, the wheel zooms out to the whole signal)
        reach = max(4 * (span.hi - span.lo + 1), 64)
        self.plot.setXRange(max(min(-0.5, span.lo - 0.5), span.centre - reach),
                            min(max(length - 0.5, span.hi + 0.5), span.centre + reach),
                            padding=0.02)
        if f.whole:
            self.detail.setText("After Flatten, Linear or global pooling every unit depends "
                                "on the whole signal.")
        else:
            self.detail.setText(f"Unit {f.unit[0]}: {span_text(span, 'L')}. Yellow: the "
                                "field; grey: the part in padding; red: its centre.")


class SliceBrowser(QWidget):
    """A MosaicView with, for 3-D arrays (C×D×H×W maps, out×kd×kh×kw filters),
    a slider over the depth slices; 1-D arrays (C×L, out×k) show as one image
    with a row per channel."""

    def __init__(self, mosaic: MosaicView, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mosaic = mosaic
        self.array: np.ndarray | None = None
        self.caption = ""
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setToolTip(tip)
        self.slider.valueChanged.connect(self._draw)
        self.label = QLabel()
        self.row = QWidget()
        row = QHBoxLayout(self.row)
        row.setContentsMargins(2, 0, 2, 0)
        row.addWidget(QLabel("Slice"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        self.row.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.row)
        lay.addWidget(mosaic, 1)

    @property
    def slice_index(self) -> int:
        return self.slider.value()

    def set_array(self, array: np.ndarray | None, caption: str = "",
                  index: int | None = None) -> None:
        self.array, self.caption = array, caption
        volume = array is not None and array.ndim == 4
        self.row.setVisible(volume)
        if array is None:
            return
        if volume:
            self.slider.blockSignals(True)
            depth = array.shape[1]
            if self.slider.maximum() != depth - 1 and index is None:
                index = depth // 2          # another depth: start in the middle
            self.slider.setRange(0, depth - 1)
            if index is not None:
                self.slider.setValue(min(index, depth - 1))
            self.slider.blockSignals(False)
        self._draw()

    def _draw(self, *_: object) -> None:
        a = self.array
        if a is None:
            return
        if a.ndim == 4:
            d = self.slider.value()
            self.label.setText(f"{d} of {a.shape[1]}")
            self.mosaic.show_tiles(activation_tiles(a[:, d]),
                                   f"{self.caption}; depth slice {d} of {a.shape[1]} "
                                   "(each scaled to its own range)")
        else:
            shown = a[:MAX_TILES].reshape(min(len(a), MAX_TILES), -1)
            rows = np.stack([normalise(r) for r in shown])
            rows = np.repeat(rows, max(1, min(8, 96 // len(rows))), axis=0)   # taller rows
            self.mosaic.show_tiles([viridis(rows)], f"{self.caption}; a row per channel, "
                                   "each scaled to its own range")
