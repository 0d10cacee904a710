"""The formula view: for the selected layer, the output-size and parameter
formulas with the numbers plugged in, the parameter breakdown, cost and the
receptive field (size, jump, start); for the input or nothing, the totals."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QTextBrowser, QWidget

from designer.core.analysis import Analysis, LayerInfo
from designer.core.catalogue import RF, axis_names
from designer.core.report import human
from designer.gui.canvas.block_text import block_shape
from designer.gui.context import DesignContext
from designer.gui.deferred import Deferred
from designer.gui.style import MONO_FONT


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _axes(values: tuple[float, ...]) -> str:
    """One number when every axis agrees, else each with the axes named:
    "2 × 1 (h × w)", "1 × 2 × 2 (d × h × w)"."""
    if len(set(values)) == 1:
        return _num(values[0])
    names = " × ".join(a.lower() for a in axis_names(len(values)))
    return " × ".join(_num(v) for v in values) + f" ({names})"


UNITS = {1: "samples", 2: "pixels", 3: "voxels"}


def rf_rows(rf: RF | None) -> list[tuple[str, str]]:
    if rf is None:
        return [("receptive field", "unknown (fix the errors upstream)")]
    if rf.whole:
        return [("receptive field", "the whole input (after Flatten, Linear or global pooling)")]
    size, unit = rf.size, UNITS.get(len(rf.size), "pixels")
    ones = all(j == 1.0 for j in rf.jump)
    return [("receptive field", "×".join(_num(v) for v in size) + f" input {unit}"
             + (f" ({'×'.join(axis_names(len(size)))})" if len(size) != 2 else "")),
            ("jump", f"{_axes(rf.jump)} {unit[:-1] if ones else unit} between "
                     f"neighbouring outputs"),
            ("start", f"{_axes(rf.start)} (centre of the first output's field)")]


_CONV = "H_out = ⌊(H + 2p − d·(k−1) − 1)/s⌋ + 1"
_POOL = "H_out = ⌊(H + 2p − d·(k−1) − 1)/s⌋ + 1   (⌈ ⌉ with ceil_mode)"
_SIZE_SYMBOLS = ("H, W: input height and width · k: kernel size · s: stride · p: padding "
                 "on each side · d: dilation · ⌊ ⌋ rounds down, ⌈ ⌉ up")
# The general formula behind the numbers, and what its symbols mean (per layer type).
SYMBOLS: dict[str, tuple[str, str]] = {
    "Conv2d": (f"{_CONV};   params = (k_h·k_w·C_in/g + 1)·C_out",
               _SIZE_SYMBOLS + " · C_in, C_out: channels in and out · g: groups "
               "(+ 1: the bias)"),
    "ConvTranspose2d": ("H_out = (H−1)·s − 2p + d·(k−1) + output_padding + 1",
                        _SIZE_SYMBOLS),
    "MaxPool2d": (_POOL, _SIZE_SYMBOLS), "AvgPool2d": (_POOL, _SIZE_SYMBOLS),
    "Linear": ("params = (in + 1)·out", "in, out: features in and out (+ 1: the bias)"),
}


def symbols_html(type_name: str) -> str:
    if type_name not in SYMBOLS:
        return ""
    general, legend = SYMBOLS[type_name]
    return (f"<p style='color:#4a5560; margin-top:0'><span style='font-family:{MONO_FONT}'>"
            f"{escape(general)}</span><br><small>{escape(legend)}</small></p>")


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td style='color:#66727f; padding-right:10px'>{escape(k)}</td>"
                    f"<td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table cellspacing='0' cellpadding='1'>{cells}</table>"


def layer_html(info: LayerInfo) -> str:
    parts = [f"<h3 style='margin:0'>{escape(info.id)} "
             f"<span style='color:#66727f; font-weight:normal'>{escape(info.type)}</span></h3>"]
    ins = ", ".join(block_shape(s) for s in info.input_shapes) or "?"
    parts.append(_table([("input", ins), ("output", block_shape(info.output_shape))]))
    if info.formulas:
        lines = "<br>".join(escape(f) for f in info.formulas)
        parts.append(f"<p style='font-family:{MONO_FONT}; background:#f4f6f8; "
                     f"padding:4px'>{lines}</p>")
        parts.append(symbols_html(info.type))
    elif not info.known:
        parts.append("<p style='color:#8a0012'>No formulas: this layer has an error "
                     "(or an upstream one).</p>")
    rows = [(name, f"{count:,}   ({formula})") for name, count, formula in info.breakdown]
    rows.append(("parameters", f"{info.params:,}" + (f" ({info.frozen_params:,} frozen)"
                                                     if info.frozen_params else "")))
    if info.buffers:
        rows.append(("buffers", f"{info.buffers:,} (running statistics, not trained)"))
    rows.append(("MACs", f"{info.macs:,} ({human(info.macs)})" if info.macs else "0"))
    rows.append(("activations", f"{info.memory:,} bytes per image (float32)"))
    parts.append("<p style='margin-bottom:2px'><b>Parameters and cost</b></p>" + _table(rows))
    parts.append("<p style='margin-bottom:2px'><b>Receptive field</b></p>"
                 + _table(rf_rows(info.rf)))
    return "".join(parts)


def design_html(name: str, analysis: Analysis) -> str:
    rows = [("input", block_shape(tuple(analysis.input_shape))),
            ("output", block_shape(analysis.output_shape)),
            ("parameters", f"{analysis.total_params:,} ({analysis.trainable_params:,} trainable)"),
            ("MACs", f"{analysis.total_macs:,} ({human(analysis.total_macs)})"),
            ("activations", f"{analysis.total_memory / 2**20:.2f} MB per image (float32)")]
    out = analysis.layers.get(analysis.output_id or "")
    body = _table(rows)
    if out is not None:
        body += "<p style='margin-bottom:2px'><b>Receptive field of the output</b></p>"
        body += _table(rf_rows(out.rf))
    return (f"<h3 style='margin:0'>{escape(name)}</h3>{body}"
            "<p style='color:#66727f'>Select a layer to see its formulas.</p>")


class FormulaView(QTextBrowser):
    def __init__(self, context: DesignContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("formulas")
        self.setOpenLinks(False)
        self._html = ""
        self.deferred = Deferred(self, self.refresh)   # once per action, when seen
        context.selection_changed.connect(self._on_change)
        context.analysis_changed.connect(self._on_change)
        self.refresh()

    @Slot(object)
    def _on_change(self, _value: object) -> None:
        self.deferred.request()

    def refresh(self) -> None:
        analysis = self.context.analysis
        sid = self.context.selected_id
        if sid is not None and sid in analysis.layers:
            html = layer_html(analysis.layers[sid])
        else:
            html = design_html(self.context.design.name, analysis)
        if html != self._html:   # setHtml re-lays out the whole page: not for nothing
            self._html = html
            self.setHtml(html)
