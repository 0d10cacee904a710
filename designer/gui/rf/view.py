"""ReceptiveFieldView: the dock panel that makes receptive fields visible.

Left, the input image enlarged with the selected unit's theoretical field
(hatched where it falls in padding), its centre, its neighbours' centres and
the effective field as a heatmap; right, the layer's output map, where a click
picks the unit. Below: growth along the network, feature maps and filters.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QSpinBox, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from designer.core.analysis import Analysis
from designer.core.catalogue import fmt_shape
from designer.core.model import INPUT_ID, Design
from designer.gui.context import DesignContext
from designer.gui.deferred import Deferred
from designer.gui.rf import overlay_model, overlay_nd
from designer.gui.rf.erf_worker import Job, Result, TorchRunner
from designer.gui.rf.feature_maps import (MosaicView, activation_tiles, filter_tiles,
                                          vector_tile)
from designer.gui.rf.growth_chart import GrowthChart
from designer.gui.rf.image_source import ImageSet, synthetic_set
from designer.gui.rf.nd_view import NdFieldView, SliceBrowser
from designer.gui.rf.input_view import InputImageWidget
from designer.gui.rf.overlay_model import Overlay, fmt_num, rf_label
from designer.gui.rf.unit_grid import FeatureGridWidget

AVERAGE_OVER = 8
START_DELAY_MS = 400


class ReceptiveFieldView(QWidget):
    erf_ready = Signal(object)   # Result, after the panel has shown it

    def __init__(self, context: DesignContext, parent: QWidget | None = None, *,
                 use_dataset: bool = True, data_dir: str | None = None,
                 shown: bool = True) -> None:
        super().__init__(parent)
        self.context = context
        self.images: ImageSet = synthetic_set()
        self.layer_id: str | None = None
        self.overlay: Overlay | None = None
        self.last_result: Result | None = None
        self._version = 0
        self._snapshot: tuple[int, Design] | None = None
        self._request = 0
        self._build_ui()
        self.runner = TorchRunner(self)
        self.runner.finished.connect(self._on_result)
        context.analysis_changed.connect(self._on_analysis)
        context.selection_changed.connect(self._on_selection)
        context.weights_changed.connect(self._on_weights)
        self._use_dataset, self._data_dir = use_dataset, data_dir
        self._started = False   # torch work waits until the panel is first shown
        self._dirty = True
        self._shown = shown     # set_shown(False) while a dock shows another tab
        self._stale = not shown   # an analysis arrived while hidden (or none drawn yet)
        # on screen, the chart and pictures follow the design once per turn of the
        # event loop: a paste or an undo of several steps analyses several times
        self._redraw = Deferred(self, self._catch_up)
        if shown:   # a hidden panel draws its chart when first shown (large designs)
            self._refresh_chart()
        self._show_image()
        self.set_layer(context.selected_id if context.selected_id in context.analysis.layers
                       else self._default_layer())

    # --- building ---------------------------------------------------------

    def _build_ui(self) -> None:
        self.header = QLabel()
        self.header.setStyleSheet("font-weight: bold;")
        self.header.setWordWrap(True)
        self.unit_label = QLabel()
        self.unit_label.setWordWrap(True)
        self.erf_label = QLabel()
        self.erf_label.setWordWrap(True)
        self.input_view = InputImageWidget()
        self.grid = FeatureGridWidget()
        self.grid.unit_selected.connect(self._on_unit)
        self.grid_caption = QLabel()
        self.grid_caption.setAlignment(Qt.AlignCenter)
        pictures = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(self.input_view, 1)
        left.addLayout(self._image_controls())
        self.map_panel = QWidget()   # hidden as a whole when the layer has no local map
        right = QVBoxLayout(self.map_panel)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.grid, 1)
        right.addWidget(self.grid_caption)
        pictures.addLayout(left, 3)
        pictures.addWidget(self.map_panel, 2)
        self.pictures_panel = QWidget()   # 2-D inputs; nd_view for 1-D and 3-D ones
        self.pictures_panel.setLayout(pictures)
        pictures.setContentsMargins(0, 0, 0, 0)
        self.nd_view = NdFieldView()
        self.nd_view.setVisible(False)
        self.nd_view.unit_changed.connect(self._submit)
        self.chart = GrowthChart()
        self.chart.layer_clicked.connect(self.context.select)
        self.maps = MosaicView("Select a layer to see its activations.")
        self.filters = MosaicView("Filters are shown for convolutions.")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.chart, "Growth")
        self.maps_slices = SliceBrowser(self.maps, "Depth slice of the feature maps")
        self.filters_slices = SliceBrowser(self.filters, "Depth slice of the 3-D filters")
        self.tabs.addTab(self.maps_slices, "Feature maps")
        self.tabs.addTab(self.filters_slices, "Filters")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.header)
        lay.addWidget(self.pictures_panel, 3)
        lay.addWidget(self.nd_view, 3)
        lay.addWidget(self.unit_label)
        lay.addWidget(self.erf_label)
        lay.addWidget(self.tabs, 2)

    def _image_controls(self) -> QVBoxLayout:
        self.prev_button = QToolButton(text="◀")
        self.next_button = QToolButton(text="▶")
        self.index_spin = QSpinBox()
        self.index_spin.setRange(0, len(self.images) - 1)
        self.index_spin.setToolTip("Which test image to look at")
        self.prev_button.clicked.connect(lambda: self.index_spin.setValue(self.index_spin.value() - 1))
        self.next_button.clicked.connect(lambda: self.index_spin.setValue(self.index_spin.value() + 1))
        self.index_spin.valueChanged.connect(self._on_image_index)
        self.image_label = QLabel()
        self.heat_box = QCheckBox("Effective field")
        self.heat_box.setChecked(True)
        self.heat_box.setToolTip("|∂ unit / ∂ input| (Luo et al. 2016), with the current weights")
        self.heat_box.toggled.connect(self._on_heat_toggled)
        self.average_box = QCheckBox(f"avg of {AVERAGE_OVER}")
        self.average_box.setToolTip(f"Average the effective field over {AVERAGE_OVER} images")
        self.average_box.toggled.connect(lambda _: self._submit())
        browse = QHBoxLayout()
        for w in (self.prev_button, self.index_spin, self.next_button, self.image_label):
            browse.addWidget(w)
        browse.addStretch(1)
        options = QHBoxLayout()   # a second row keeps the panel narrow enough for a side dock
        options.addWidget(self.heat_box)
        options.addWidget(self.average_box)
        options.addStretch(1)
        rows = QVBoxLayout()
        rows.addLayout(browse)
        rows.addLayout(options)
        return rows

    # --- state ------------------------------------------------------------

    @property
    def analysis(self) -> Analysis:
        return self.context.analysis

    def is_nd(self) -> bool:
        """A 1-D or 3-D input: nd_view draws the field."""
        return len(self.analysis.input_shape) != 3

    def _default_layer(self) -> str | None:
        """The deepest layer whose field is still local, else the last one."""
        size = (lambda lid: overlay_nd.map_size(self.analysis, lid)) if self.is_nd() \
            else self._map_size
        local = [lid for lid in self.analysis.order if size(lid) is not None]
        return local[-1] if local else (self.analysis.order[-1] if self.analysis.order else None)

    def _map_size(self, layer_id: str | None) -> tuple[int, int] | None:
        """The clickable map of a layer with a local field, else None."""
        if layer_id is None or layer_id not in self.analysis.layers:
            return None
        rf = self.analysis.layers[layer_id].rf
        if rf is None or rf.whole:
            return None
        return overlay_model.feature_map_size(self.analysis, layer_id)

    def current_image(self) -> np.ndarray:
        if self.is_nd():
            return self.nd_view.sample if self.nd_view.sample is not None else \
                np.zeros(self.analysis.input_shape, np.uint8)
        c, h, w = self.analysis.input_shape
        return self.images.fit(max(c, 1), max(h, 1), max(w, 1), self.index_spin.value())

    def set_layer(self, layer_id: str | None) -> None:
        self.layer_id = layer_id if layer_id in self.analysis.layers else None
        if self._show_nd():
            return
        size = self._map_size(self.layer_id)
        self.grid.set_map_size(size)
        self.map_panel.setVisible(size is not None)
        self.chart.mark(self.layer_id)
        if size is not None:
            self.grid.select_unit(size[0] // 2, size[1] // 2)   # updates and submits
        else:
            self._update_overlay()
            self._submit()

    def set_shown(self, shown: bool) -> None:
        """For a dock: whether its tab is the one on screen. A tabbed-away dock stays
        'visible' to Qt (it is only moved off screen), so the dock tells the view."""
        self._shown = shown
        if shown and self.isVisible():
            self._catch_up()
            if not self._started:
                QTimer.singleShot(START_DELAY_MS, self, self._start)

    def _on_screen(self) -> bool:
        return self._shown and self.isVisible()

    def _catch_up(self) -> None:
        if self._stale:
            self._show_analysis(self.context.analysis)
        elif self._started and self._dirty:
            self._submit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._shown:
            self._catch_up()
        if not self._started:
            # after the window's first paint: importing torch competes for the GIL
            QTimer.singleShot(START_DELAY_MS, self, self._start)

    def _start(self) -> None:
        if self._started or not self._on_screen():   # tabbed away: starts when shown
            return
        self._started = True
        if self._use_dataset:
            self._request += 1
            self.runner.submit(Job(self._request, -1, None, None, None, None, None,
                                   load_images=True, load_images_from=self._data_dir))
        self._submit()

    def set_data_dir(self, data_dir: str | None) -> None:
        """Show test images from this folder (the training panel's) when it holds CIFAR-10."""
        if data_dir == self._data_dir:
            return
        self._data_dir = data_dir
        if self._started and self._use_dataset:
            self._request += 1
            self.runner.submit(Job(self._request, -1, None, None, None, None, None,
                                   load_images=True, load_images_from=data_dir))

    def select_unit(self, i: int, j: int) -> None:
        """Pick a unit of the selected layer's map, as a click on it does."""
        self.grid.select_unit(i, j)

    def set_image_index(self, index: int) -> None:
        self.index_spin.setValue(index)

    # --- reactions --------------------------------------------------------

    @Slot(object)
    def _on_analysis(self, analysis: Analysis) -> None:
        self._version += 1
        self._stale = True   # hidden: caught up when shown; edits stay fast meanwhile
        if self._on_screen():
            self._redraw.request()

    def _show_analysis(self, analysis: Analysis) -> None:
        if not self._on_screen():
            return
        self._stale = False
        self._refresh_chart()
        keep = self.layer_id if self.layer_id in analysis.layers else self._default_layer()
        if self.is_nd():
            self.layer_id = keep
            self._show_nd()
            return
        self._show_nd()      # back from a 1-D / 3-D input: the 2-D panels again
        self._show_image()
        old_unit = self.grid.unit
        size = self._map_size(keep)
        self.layer_id = keep
        self.grid.set_map_size(size)
        self.map_panel.setVisible(size is not None)
        self.chart.mark(keep)
        if size is not None:
            self.grid.select_unit(*old_unit)
        else:
            self._update_overlay()
            self._submit()

    @Slot(object)
    def _on_selection(self, layer_id: str | None) -> None:
        if layer_id is not None and layer_id != self.layer_id:
            self.set_layer(layer_id)

    @Slot(object)
    def _on_weights(self, _: Any) -> None:
        self._version += 1
        self._submit()

    @Slot(int, int)
    def _on_unit(self, i: int, j: int) -> None:
        self._update_overlay()
        self._submit()

    def _on_image_index(self, _: int) -> None:
        self._show_image()
        self._submit()

    def _on_heat_toggled(self, on: bool) -> None:
        self.input_view.show_heat = on
        self.input_view.update()
        self._submit()

    # --- drawing ----------------------------------------------------------

    def _refresh_chart(self) -> None:
        self.chart.set_analysis(self.context.design, self.analysis)
        self.chart.mark(self.layer_id)

    def _show_nd(self) -> bool:
        """For a 1-D or 3-D input: show the field in nd_view (True); else
        show the 2-D panels (False)."""
        nd = self.is_nd()
        self.pictures_panel.setVisible(not nd)
        self.nd_view.setVisible(nd)
        self.unit_label.setVisible(not nd)
        if not nd:
            return False
        self.header.setText("")
        self.header.setVisible(False)
        self.overlay = None
        self.chart.mark(self.layer_id)
        self.nd_view.show_layer(self.analysis, self.layer_id)
        if self.layer_id is None:
            self.maps.clear()
            self.filters.clear()
        self._submit()
        return True

    def _show_image(self) -> None:
        if self.is_nd():
            return
        self.header.setVisible(True)
        self.index_spin.setMaximum(max(len(self.images) - 1, 0))
        n = self.index_spin.value()
        self.input_view.set_image(self.current_image())
        self.image_label.setText(f"{self.images.labels[n % len(self.images)]}"
                                 + (" (synthetic)" if self.images.synthetic else ""))
        self.image_label.setToolTip(self.images.source)

    def _update_overlay(self) -> None:
        lid = self.layer_id
        ov = overlay_model.overlay(self.analysis, lid, self.grid.unit) if lid else None
        self.overlay = ov
        self.input_view.set_overlay(ov)
        self.input_view.set_heat(None)
        size = self.grid.map_size
        self.grid_caption.setText(f"{lid} output: {size[0]}×{size[1]} units"
                                  if size and lid else "")
        if lid is None:
            self.header.setText("Select a block to see its receptive field.")
            self.unit_label.setText("")
            self.erf_label.setText("")   # nothing shown: no stale "trained weights"
            self.maps.clear()
            self.filters.clear()
        elif ov is None:
            self.header.setText(f"{lid}: no receptive field (the layer has errors upstream)")
            self.unit_label.setText("")
        elif ov.whole:
            self.header.setText(f"{lid}: this layer sees the whole input")
            self.unit_label.setText("After Flatten, Linear or global pooling every unit "
                                    "depends on every input pixel.")
        else:
            self.header.setText(f"{lid}: {rf_label(ov.rf)}")
            self.unit_label.setText(_unit_text(ov))

    def _snapshot_design(self) -> Design:
        if self._snapshot is None or self._snapshot[0] != self._version:
            self._snapshot = (self._version, self.context.design.copy())
        return self._snapshot[1]

    def _submit(self) -> None:
        """Ask the worker for activations, filters and (for a unit) the effective field."""
        lid = self.layer_id
        if lid is None or lid not in self.context.design:
            return   # another design came: the view's own update for it follows
        if not self.analysis.ok:
            self.erf_label.setText("Fix the design's errors to see the effective field "
                                   "and the feature maps.")
            self.maps.clear()
            self.filters.clear()
            return
        if not self._started or not self._on_screen():
            self._dirty = True   # a hidden panel catches up when shown
            return
        self._dirty = False
        spatial = self.overlay is not None and not self.overlay.whole
        want_heat = spatial and self.heat_box.isChecked()
        images = self.current_image()[None]
        if want_heat and self.average_box.isChecked():
            c, h, w = self.analysis.input_shape
            n0 = self.index_spin.value()
            images = np.stack([self.images.fit(c, h, w, n0 + k) for k in range(AVERAGE_OVER)])
        layer = self.context.design.layer(lid)
        self._request += 1
        job = Job(self._request, self._version, self._snapshot_design(), self.context.weights,
                  lid, self.grid.unit if want_heat else None, images,
                  box=self.overlay.box if spatial and self.overlay else None,
                  rgb_filters=layer.inputs == [INPUT_ID] and self.analysis.input_shape[0] == 3)
        if want_heat:
            self.erf_label.setText("Effective field: computing…")
        self.runner.submit(job)

    @Slot(object)
    def _on_result(self, result: Result) -> None:
        if result.images is not None:
            self.images = result.images
            self._show_image()
            self._submit()
            return
        if result.request_id != self._request or result.layer_id != self.layer_id:
            return   # a newer request is on its way
        self.last_result = result
        if result.error:
            self.erf_label.setText(f"Could not run the network: {result.error}")
        else:
            self._show_result(result)
        self.erf_ready.emit(result)

    def _show_result(self, r: Result) -> None:
        if r.heat is not None and r.unit == self.grid.unit:
            self.input_view.set_heat(r.heat)
            share = "" if r.inside is None else \
                f"{r.inside:.0%} of the gradient lies inside the theoretical field. "
            self.erf_label.setText(f"Effective field (red): {share}With {r.weights_label}; "
                                   f"{r.seconds * 1000:.0f} ms.")
        elif self.is_nd():
            self.erf_label.setText(f"Feature maps and filters with {r.weights_label} (the "
                                   "effective field is drawn for 2-D inputs only).")
        elif self.overlay is not None and self.overlay.whole:
            self.erf_label.setText(f"Activations with {r.weights_label}.")
        elif not self.heat_box.isChecked():
            self.erf_label.setText("")
        act = r.activations
        self.maps_slices.set_array(None)
        self.filters_slices.set_array(None)
        if act is not None and self.is_nd() and act.ndim == len(self.analysis.input_shape):
            self.maps_slices.set_array(act, f"{r.layer_id}: {min(act.shape[0], 64)} of "
                                       f"{act.shape[0]} channels, {fmt_shape(act.shape[1:])}")
        elif act is not None and act.ndim == 3:
            self.grid.set_activation(act)
            self.maps.show_tiles(activation_tiles(act), f"{r.layer_id}: {min(act.shape[0], 64)} "
                                 f"of {act.shape[0]} channels, {act.shape[1]}×{act.shape[2]}, "
                                 "each scaled to its own range (dark low, yellow high)")
        elif act is not None and act.size:
            self.maps.show_tiles([vector_tile(act)], f"{r.layer_id}: {act.size} values, "
                                 "row by row (grey: no value)")
        if r.filters is not None and r.filters.ndim in (2, 4):   # Conv1d, Conv3d
            self.filters_slices.set_array(r.filters, f"{r.layer_id}: {min(len(r.filters), 64)} "
                                          f"of {len(r.filters)} filters (mean over input "
                                          f"channels), {r.weights_label}")
        elif r.filters is not None:
            kind = "RGB" if r.filters.ndim == 4 else "mean over input channels"
            self.filters.show_tiles(filter_tiles(r.filters), f"{r.layer_id}: "
                                    f"{min(len(r.filters), 64)} of {len(r.filters)} filters "
                                    f"({kind}), {r.weights_label}")
        else:
            self.filters.clear(f"{r.layer_id} has no convolution filters.")

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        return self.runner.shutdown(timeout_ms)

    def release(self) -> bool:
        """For window.close_guards: end the worker without blocking; always True."""
        return self.runner.release()


def _unit_text(ov: Overlay) -> str:
    top, left, bottom, right = ov.box
    text = (f"Unit ({ov.unit[0]}, {ov.unit[1]}): centre ({fmt_num(ov.centre[0])}, "
            f"{fmt_num(ov.centre[1])}); rows {fmt_num(top)}…{fmt_num(bottom)}, "
            f"columns {fmt_num(left)}…{fmt_num(right)}")
    outside = 1 - ov.inside_share
    if outside > 0:
        text += f"; {outside:.0%} of the field lies in padding (hatched)"
    if ov.neighbours:
        text += f"; cyan dots: the {len(ov.neighbours)} neighbouring units' centres inside it"
    return text + "."
