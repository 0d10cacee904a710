"""Live training curves: one persistent curve item per run and series, redrawn
by the panel's timer with setData; a hover readout shows the values under the
mouse."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QWidget

from designer.gui.training.runs import Run

SERIES = ("raw", "ema", "train_loss", "eval_loss", "train_acc", "eval_acc", "lr")


class IntegerAxis(pg.AxisItem):
    """Epochs and steps are whole numbers: no ticks at 1.5."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        levels = [(s, o) for s, o in super().tickSpacing(minVal, maxVal, size) if s >= 1]
        return levels or [(1.0, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [f"{int(round(v * scale))}" for v in values]


class RunCurves:
    """The curve items of one run across the four plots."""

    def __init__(self, plots: "TrainingPlots", run: Run) -> None:
        colour = QColor(run.colour)
        faint = QColor(colour)
        faint.setAlpha(70)
        solid = pg.mkPen(colour, width=2)
        dashed = pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine)
        sym = dict(symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=None)
        sym_open = dict(symbol="o", symbolSize=6, symbolBrush=None, symbolPen=colour)
        self.items: dict[str, pg.PlotDataItem] = {
            "raw": plots.step_loss.plot(pen=pg.mkPen(faint, width=1), connect="finite"),
            "ema": plots.step_loss.plot(pen=solid, connect="finite"),
            "train_loss": plots.epoch_loss.plot(pen=solid, **sym),
            "eval_loss": plots.epoch_loss.plot(pen=dashed, **sym_open),
            "train_acc": plots.accuracy.plot(pen=solid, **sym),
            "eval_acc": plots.accuracy.plot(pen=dashed, **sym_open),
            "lr": plots.lr.plot(pen=solid),
        }
        for key in ("raw", "ema", "lr"):
            self.items[key].setDownsampling(auto=True, method="peak")
            self.items[key].setClipToView(True)
        self.run = run
        self._steps_drawn = -1
        self._epochs_drawn = -1

    def update(self) -> None:
        # only touch the plots whose data changed: every setData repaints its plot
        run = self.run
        if len(run.step_x) != self._steps_drawn:
            self._steps_drawn = len(run.step_x)
            x = run.step_x.view()
            self.items["raw"].setData(x, _finite(run.step_loss.view()))
            self.items["ema"].setData(x, _finite(run.step_ema.view()))
            self.items["lr"].setData(x, run.step_lr.view())
        if len(run.epochs) != self._epochs_drawn:
            self._epochs_drawn = len(run.epochs)
            self._update_epochs()

    def _update_epochs(self) -> None:
        run = self.run
        ev = run.eval_name()
        self.items["train_loss"].setData(*run.epoch_series("train_loss"))
        self.items["eval_loss"].setData(*run.epoch_series(f"{ev}_loss"))
        ex, ey = run.epoch_series("train_acc")
        self.items["train_acc"].setData(ex, 100 * ey)
        ex, ey = run.epoch_series(f"{ev}_acc")
        self.items["eval_acc"].setData(ex, 100 * ey)

    def set_visible(self, visible: bool) -> None:
        for item in self.items.values():
            item.setVisible(visible)

    def remove(self) -> None:
        for item in self.items.values():
            vb = item.getViewBox()
            if vb is not None:
                vb.removeItem(item)


def _set_title(plot: pg.PlotItem, title: str, key: str = "") -> None:
    """A title that may be cut rather than squeeze the neighbouring plot out of
    view: pyqtgraph's LabelItem makes its text's width its minimum width on every
    resize (updateMin), so that method is replaced on this label."""
    label = plot.titleLabel
    if not getattr(label, "_shrinkable", False):
        original = label.updateMin

        def update_min() -> None:
            original()
            label.setMinimumWidth(0)
            label._sizeHint[Qt.SizeHint.MinimumSize] = (0, label.minimumHeight())

        label.updateMin = update_min
        label._shrinkable = True
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
    key_html = f"<br><span style='color:#888'>{key}</span>" if key else ""
    plot.setTitle(f"{title}{key_html}", size="8pt")
    plot.layout.setRowFixedHeight(0, 34)   # the same in every plot: their axes line up
    label.setToolTip(f"{title} ({key})" if key else title)


class TrainingPlots(pg.GraphicsLayoutWidget):
    """Loss per step, loss per epoch, accuracy per epoch, learning rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.step_loss = self._plot(0, 0, "Loss per step", "faint: raw · bold: smoothed",
                                    "step", "loss")
        self.epoch_loss = self._plot(0, 1, "Loss per epoch", "solid: train · dashed: test",
                                     "epoch", "loss")
        self.accuracy = self._plot(1, 0, "Accuracy per epoch", "solid: train · dashed: test",
                                   "epoch", "%")
        self.lr = self._plot(1, 1, "Learning rate", "", "step", "lr")
        for plot in (self.step_loss, self.epoch_loss, self.lr):
            plot.setLimits(yMin=0)          # a flat curve otherwise auto-ranges below zero
        self.accuracy.setLimits(yMin=0, yMax=100)
        for col in (0, 1):   # two equal columns however long the titles are
            self.ci.layout.setColumnStretchFactor(col, 1)
        self.curves: dict[int, RunCurves] = {}
        self._readouts: dict[pg.PlotItem, tuple[pg.InfiniteLine, pg.TextItem]] = {}
        for plot in self.plots():
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#999", style=Qt.PenStyle.DotLine))
            text = pg.TextItem(color="#222", anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 220))
            for item in (line, text):
                item.setVisible(False)
                plot.addItem(item, ignoreBounds=True)
            self._readouts[plot] = (line, text)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _plot(self, row: int, col: int, title: str, key: str, xlabel: str,
              ylabel: str) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=col,
                            axisItems={"bottom": IntegerAxis(orientation="bottom")})
        _set_title(plot, title, key)
        plot.setLabel("bottom", xlabel)
        plot.setLabel("left", ylabel)
        # no grid: its alpha-blended lines cost ~20 ms a frame in software rendering;
        # no SI prefix: relabelling on every range change costs setHtml calls
        for name in ("left", "bottom"):
            plot.getAxis(name).enableAutoSIPrefix(False)
        plot.setMenuEnabled(True)
        return plot

    def plots(self) -> list[pg.PlotItem]:
        return [self.step_loss, self.epoch_loss, self.accuracy, self.lr]

    def set_eval_name(self, name: str) -> None:
        word = "validation" if name == "val" else "test"
        _set_title(self.epoch_loss, "Loss per epoch", f"solid: train · dashed: {word}")
        _set_title(self.accuracy, "Accuracy per epoch", f"solid: train · dashed: {word}")

    # --- runs ---------------------------------------------------------------
    def add_run(self, run: Run) -> RunCurves:
        curves = RunCurves(self, run)
        self.curves[run.number] = curves
        curves.set_visible(run.visible)
        return curves

    def remove_run(self, number: int) -> None:
        curves = self.curves.pop(number, None)
        if curves is not None:
            curves.remove()

    def refresh(self, runs: list[Run]) -> None:
        """Redraw what changed since the last call (called from the panel's timer)."""
        for run in runs:
            curves = self.curves.get(run.number) or self.add_run(run)
            curves.set_visible(run.visible)
            if run.dirty and run.visible:
                curves.update()
                run.dirty = False

    def visible_curve_items(self, series: str) -> list[pg.PlotDataItem]:
        return [c.items[series] for c in self.curves.values() if c.items[series].isVisible()]

    # --- hover readout ------------------------------------------------------
    def _on_mouse_moved(self, pos: QPointF) -> None:
        for plot, (line, text) in self._readouts.items():
            vb = plot.getViewBox()
            if not vb.sceneBoundingRect().contains(pos):
                line.setVisible(False)
                text.setVisible(False)
                continue
            x = vb.mapSceneToView(pos).x()
            lines = self._values_at(plot, x)
            if not lines:
                line.setVisible(False)
                text.setVisible(False)
                continue
            line.setPos(x)
            (x0, x1), (y0, y1) = vb.viewRange()
            text.setText("\n".join(lines))
            text.setPos(x0, y1)
            line.setVisible(True)
            text.setVisible(True)

    def _values_at(self, plot: pg.PlotItem, x: float) -> list[str]:
        out: list[str] = []
        keys = {id(self.step_loss): ("ema", "raw"), id(self.epoch_loss): ("train_loss", "eval_loss"),
                id(self.accuracy): ("train_acc", "eval_acc"), id(self.lr): ("lr",)}[id(plot)]
        for number, curves in sorted(self.curves.items()):
            if not curves.items[keys[0]].isVisible():
                continue
            parts = []
            for key in keys:
                xs, ys = curves.items[key].getOriginalDataset()
                if xs is None or len(xs) == 0:
                    continue
                i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
                if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                    i -= 1
                parts.append((xs[i], key, ys[i]))
            if parts:
                at = parts[0][0]
                unit = "step" if keys[0] in ("ema", "lr") else "epoch"
                vals = ", ".join(f"{_LABELS[k]} {_fmt(v)}" for _, k, v in parts)
                out.append(f"run {number} @ {unit} {int(at)}: {vals}")
        return out


_LABELS = {"ema": "smoothed", "raw": "raw", "train_loss": "train", "eval_loss": "eval",
           "train_acc": "train", "eval_acc": "eval", "lr": "lr"}


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return "nan"
    return f"{v:.4g}"


def _finite(a: np.ndarray) -> np.ndarray:
    """Non-finite losses would wreck the auto-range; draw them as gaps."""
    if np.isfinite(a).all():
        return a
    return np.where(np.isfinite(a), a, np.nan)
