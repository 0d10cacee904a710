"""ConvExplorer: the convolution explorer panel.

Follows the selected Conv2d / ConvTranspose2d / MaxPool2d / AvgPool2d and
animates its window over every output position (play, pause, step, scrub);
a click on an output cell shows that output's arithmetic with real numbers.
Does nothing while hidden (set_shown(False))."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSlider, QSpinBox,
                               QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from designer.core.catalogue import get_type, is_known
from designer.core.conv_arithmetic import (CellMath, activate, compute_cell, output_map,
                                           small_integers)
from designer.core.conv_explorer import (EXPLORABLE, STAND_IN_MAX, STAND_IN_MIN, ExplorerError,
                                         ExplorerSpec, describe, explorer_spec)
from designer.gui.context import DesignContext
from designer.gui.inspect import explorer_worker
from designer.gui.inspect.explorer_canvas import ExplorerCanvas, Picture
from designer.gui.inspect.explorer_text import arithmetic_html

REAL, INTEGERS = "real", "integers"
STEP_MS = 450
MAX_REAL_DRAWN = 40        # larger inputs are always watched on a stand-in
DEFAULT_STAND_IN = 8


class ConvExplorer(QWidget):
    values_ready = Signal()          # real values arrived and are shown (tests wait on it)

    def __init__(self, context: DesignContext, images: Callable[[], Any] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._images = images        # -> ImageSet (the RF view's test images)
        self.layer_id: str | None = None
        self.spec: ExplorerSpec | None = None
        self.math: CellMath | None = None
        self.step_index = 0
        self.values_label = ""
        self._values: Any = None     # LayerValues for _values_key
        self._values_key: tuple[Any, ...] | None = None
        self._pending: tuple[Any, ...] | None = None
        self._queued: explorer_worker.ValuesRequest | None = None
        self._shown = True
        self._dirty = True
        self._build_ui()
        self.timer = QTimer(self)
        self.timer.setInterval(STEP_MS)
        self.timer.timeout.connect(self.step_forward)
        self._version = 0            # bumps when the design or the weights change
        context.selection_changed.connect(self._mark_dirty)
        context.analysis_changed.connect(self._on_new_values)
        context.weights_changed.connect(self._on_new_values)
        self.refresh()

    # --- building ------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.header = QLabel()
        self.header.setStyleSheet("font-weight: bold;")
        self.header.setWordWrap(True)
        self.settings_label = QLabel()
        self.settings_label.setWordWrap(True)
        self.canvas = ExplorerCanvas()
        self.canvas.cell_clicked.connect(self.select_cell)
        self.play_button = QToolButton(text="▶ Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play)
        self.back_button = QToolButton(text="◀")
        self.back_button.setToolTip("Previous window position")
        self.back_button.clicked.connect(self.step_back)
        self.step_button = QToolButton(text="Step ▶")
        self.step_button.setToolTip("Next window position")
        self.step_button.clicked.connect(self.step_forward)
        self.scrub = QSlider(Qt.Horizontal)
        self.scrub.setToolTip("Scrub through every output position")
        self.scrub.valueChanged.connect(self._on_scrub)
        self.position_label = QLabel()
        self.values_box = QComboBox()
        self.values_box.addItem("Real image, current weights", REAL)
        self.values_box.addItem("Small integers", INTEGERS)
        self.values_box.setToolTip("Where the numbers come from: a test image through the "
                                   "design (trained weights if a run finished, else the "
                                   "initial ones), or small integers like the tutorials'")
        self.values_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.stand_in_box = QCheckBox("Small stand-in")
        self.stand_in_box.setToolTip("Watch the same settings on a small input "
                                     f"({STAND_IN_MIN} to {STAND_IN_MAX} cells)")
        self.stand_in_box.toggled.connect(lambda _on: self.refresh())
        self.stand_in_size = QSpinBox()
        self.stand_in_size.setRange(STAND_IN_MIN, STAND_IN_MAX)
        self.stand_in_size.setValue(DEFAULT_STAND_IN)
        self.stand_in_size.setSuffix(" cells")
        self.stand_in_size.valueChanged.connect(lambda _v: self.refresh())
        self.in_channel = QSpinBox()
        self.in_channel.setPrefix("input ch ")
        self.in_channel.setToolTip("The input channel drawn in the grid")
        self.in_channel.valueChanged.connect(lambda _v: self._update_view())
        self.out_channel = QSpinBox()
        self.out_channel.setPrefix("output ch ")
        self.out_channel.setToolTip("The output channel (filter) whose arithmetic is shown")
        self.out_channel.valueChanged.connect(lambda _v: self._on_out_channel())
        self.arithmetic = QTextBrowser()
        self.arithmetic.setObjectName("explorerArithmetic")
        self.arithmetic.setMinimumHeight(90)
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)

        transport = QHBoxLayout()
        for w in (self.play_button, self.back_button, self.step_button):
            transport.addWidget(w)
        transport.addWidget(self.scrub, 1)
        transport.addWidget(self.position_label)
        options = QHBoxLayout()
        options.addWidget(self.values_box)
        options.addWidget(self.stand_in_box)
        options.addWidget(self.stand_in_size)
        options.addWidget(self.in_channel)
        options.addWidget(self.out_channel)
        options.addStretch(1)
        self.controls = QWidget()
        inner = QVBoxLayout(self.controls)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(transport)
        inner.addLayout(options)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.header)
        lay.addWidget(self.settings_label)
        lay.addWidget(self.canvas, 4)
        lay.addWidget(self.controls)
        lay.addWidget(self.arithmetic, 1)
        lay.addWidget(self.status)

    # --- following the window ---------------------------------------------------------
    def set_shown(self, shown: bool) -> None:
        self._shown = shown
        if not shown:
            self.play_button.setChecked(False)
        elif self._dirty:
            self.refresh()

    @Slot(object)
    def _on_new_values(self, _arg: object = None) -> None:
        self._version += 1
        self._mark_dirty()

    @Slot(object)
    def _mark_dirty(self, _arg: object = None) -> None:
        self._dirty = True
        if self._shown:
            self.refresh()

    def refresh(self) -> None:
        """Re-read the selected layer and its settings (cheap; real values are
        requested from the worker only when they are missing)."""
        if not self._shown:
            self._dirty = True
            return
        self._dirty = False
        ctx = self.context
        lid = ctx.selected_id
        info = ctx.analysis.layers.get(lid) if lid is not None else None
        layer = ctx.design.layer(lid) if lid is not None and lid in ctx.design else None
        if layer is None or info is None or layer.type not in EXPLORABLE:
            what = f"{lid} is a {layer.type}. " if layer is not None else ""
            return self._show_nothing(what + "Select a " + ", ".join(EXPLORABLE[:-1])
                                      + " or " + EXPLORABLE[-1]
                                      + " to watch its window slide over the input.")
        if info.errors or not info.input_shapes or info.input_shapes[0] is None:
            return self._show_nothing(f"{lid} has a problem to fix first: "
                                      + (info.errors[0].message if info.errors else
                                         "its input is unknown"))
        shape = tuple(info.input_shapes[0])
        if layer.id != self.layer_id:
            self.layer_id = layer.id
            self.step_index = 0
            big = len(shape) == 3 and max(shape[1:]) > 16
            self.stand_in_box.blockSignals(True)
            self.stand_in_box.setChecked(big)
            self.stand_in_box.blockSignals(False)
        forced = len(shape) == 3 and max(shape[1:]) > MAX_REAL_DRAWN
        self.stand_in_box.setEnabled(not forced)
        use_stand_in = self.stand_in_box.isChecked() or forced
        self.stand_in_size.setEnabled(use_stand_in)
        try:
            spec = explorer_spec(layer.type, info.resolved, shape,  # type: ignore[arg-type]
                                 stand_in=self.stand_in_size.value() if use_stand_in else None)
        except ExplorerError as e:
            return self._show_nothing(f"{lid}: {e}")
        self.spec = spec
        self.header.setText(f"{lid} · {layer.type}"
                            + (f" · {get_type(layer.type).help}" if is_known(layer.type) else ""))
        self.settings_label.setText(describe(spec) + (
            "  — the real input is too large to draw" if forced else ""))
        for box, n in ((self.in_channel, spec.in_channels), (self.out_channel,
                                                             spec.out_channels)):
            box.blockSignals(True)
            box.setRange(0, n - 1)
            box.blockSignals(False)
            box.setVisible(n > 1 and not (spec.is_pool and box is self.in_channel))
        self.scrub.blockSignals(True)
        self.scrub.setRange(0, spec.positions() - 1)
        self.scrub.blockSignals(False)
        self.step_index = min(self.step_index, spec.positions() - 1)
        self.controls.setEnabled(True)
        self._ensure_values()
        self._update_view()

    def _show_nothing(self, message: str) -> None:
        self.play_button.setChecked(False)
        self.spec, self.math, self.layer_id = None, None, None
        self.header.setText("Convolution explorer")
        self.settings_label.setText(message)
        self.canvas.set_picture(None)
        self.arithmetic.clear()
        self.status.clear()
        self.controls.setEnabled(False)

    # --- values ---------------------------------------------------------------------
    def _real_key(self) -> tuple[Any, ...]:
        images = self._images() if self._images is not None else None
        return (self.layer_id, self._version, id(images))

    def _ensure_values(self) -> None:
        if self.values_box.currentData() != REAL or self.spec is None:
            return
        key = self._real_key()
        if key == self._values_key or key == self._pending:
            return
        ctx = self.context
        if not ctx.analysis.ok:
            self._values, self._values_key = "the design has errors: showing small integers", key
            return
        design = ctx.design.copy()
        c, h, w = design.input.shape
        request = explorer_worker.ValuesRequest(key, design, self.layer_id,  # type: ignore[arg-type]
                                                self._image(c, h, w), ctx.weights)
        if self._pending is not None:   # one job at a time: the newest request waits
            self._queued = request
            return
        self._pending = key
        explorer_worker.submit(request, self._on_values)

    def _image(self, c: int, h: int, w: int) -> np.ndarray:
        images = self._images() if self._images is not None else None
        if images is None:
            from designer.gui.rf.image_source import synthetic_set
            images = synthetic_set(1)
        self.values_label = images.source
        big_h, big_w = images.images.shape[2:]
        if big_h < h or big_w < w:
            return images.fit(c, h, w, 0)
        # a small input gets the image's centre, not a resized copy: nearest-neighbour
        # shrinking of the test pattern lands on its grid lines and gives a flat patch
        full = images.fit(c, big_h, big_w, 0)
        top, left = (big_h - h) // 2, (big_w - w) // 2
        self.values_label += f" (centre {h}×{w})"
        return np.ascontiguousarray(full[:, top:top + h, left:left + w])

    @Slot(object, object)
    def _on_values(self, key: tuple[Any, ...], values: Any) -> None:
        explorer_worker.forget(key)
        if key != self._pending:
            return
        self._pending = None
        queued, self._queued = self._queued, None
        if queued is not None and queued.key == self._real_key():
            self._pending = queued.key
            explorer_worker.submit(queued, self._on_values)
            return
        self._values, self._values_key = values, key
        if self._shown:
            self._update_view()
        self.values_ready.emit()

    def current_values(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None,
                                      np.ndarray | None, str]:
        """(input, weight, bias, torch output or None, where they come from) for the spec."""
        spec = self.spec
        assert spec is not None
        v = self._values if self._values_key == self._real_key() else None
        if self.values_box.currentData() == REAL and v is not None and not isinstance(v, str):
            h, w = spec.in_size
            x = v.x[:, :h, :w]
            source = self.values_label + ("" if spec.is_pool else f" · {v.label}")
            if spec.stand_in:
                source += f" · top-left {h}×{w} of the real input"
                return x, v.weight, v.bias, None, source
            return x, v.weight, v.bias, v.output, source
        x, weight, bias = small_integers(spec)
        if self.values_box.currentData() == REAL:
            note = v if isinstance(v, str) else "computing the real values…"
            return x, weight, bias, None, f"small integers ({note})"
        return x, weight, bias, None, "small integers"

    # --- view -----------------------------------------------------------------------
    def _update_view(self) -> None:
        spec = self.spec
        if spec is None or not self._shown:
            return
        cell = spec.cell(self.step_index)
        oc = min(self.out_channel.value(), spec.out_channels - 1)
        x, weight, bias, output, source = self.current_values()
        self.math = compute_cell(spec, x, weight, bias, oc, cell)
        out = output[oc] if output is not None else output_map(spec, x, weight, bias, oc)
        ic = self.in_channel.value()
        if spec.is_pool:
            ic = oc
        elif ic not in spec.feeding_channels(oc):
            ic = spec.feeding_channels(oc).start
        self.in_channel.blockSignals(True)
        self.in_channel.setValue(ic)
        self.in_channel.blockSignals(False)
        sources = []
        if spec.transposed is not None:
            sources = sorted({spec.source(*p.pos) for part in self.math.channels  # type: ignore[misc]
                              for p in part.products if p.where == "input"})
        self.canvas.set_picture(Picture(spec, cell, self.step_index, x[ic], out, sources))
        self.arithmetic.setHtml(arithmetic_html(spec, self.math, self._activation()))
        self.scrub.blockSignals(True)
        self.scrub.setValue(self.step_index)
        self.scrub.blockSignals(False)
        self.position_label.setText(f"{self.step_index + 1}/{spec.positions()}: "
                                    f"out[{cell[0]}, {cell[1]}]")
        self.status.setText("Values: " + source)

    def _activation(self) -> tuple[str, float | None] | None:
        """The elementwise activation that directly follows the layer, if any."""
        if self.layer_id is None or self.math is None or self.spec is None or self.spec.is_pool:
            return None
        consumers = self.context.design.consumers(self.layer_id)
        if len(consumers) != 1 or not is_known(consumers[0].type) \
                or get_type(consumers[0].type).category != "Activation":
            return None
        nxt = consumers[0]
        info = self.context.analysis.layers.get(nxt.id)
        params = info.resolved if info is not None else nxt.params
        return nxt.type, activate(nxt.type, params, self.math.total)

    # --- transport ------------------------------------------------------------------
    @Slot()
    def step_forward(self) -> None:
        if self.spec is not None:
            self.step_index = (self.step_index + 1) % self.spec.positions()
            self._update_view()

    @Slot()
    def step_back(self) -> None:
        if self.spec is not None:
            self.step_index = (self.step_index - 1) % self.spec.positions()
            self._update_view()

    @Slot(int)
    def _on_scrub(self, value: int) -> None:
        self.step_index = value
        self._update_view()

    @Slot(int, int)
    def select_cell(self, i: int, j: int) -> None:
        if self.spec is not None:
            self.play_button.setChecked(False)
            self.step_index = i * self.spec.cols.out + j
            self._update_view()

    def _on_out_channel(self) -> None:
        self._update_view()

    @Slot(bool)
    def _on_play(self, playing: bool) -> None:
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")
        if playing and self.spec is not None:
            self.timer.start()
        else:
            self.timer.stop()
