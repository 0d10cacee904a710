"""What a canvas block says, computed from the layer and its analysis.

Pure Python (no Qt): the scene compares BlockText values to repaint only the
blocks whose text really changed.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from designer.core.analysis import Analysis, LayerInfo
from designer.core.catalogue import RF, fmt_shape, get_type, is_known, shape_layout, shape_text
from designer.core.model import INPUT_ID, Layer


@dataclass(frozen=True)
class BlockText:
    title: str                 # the layer id
    type_name: str
    category: str
    detail: str                # key parameters, e.g. "5×5, 6 ch, s1"
    shape: str                 # "6×28×28" or "?"
    params: str                # "456 params", "1.2M params", "" for the input
    rf: str                    # "RF 5", "RF all" or ""
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    is_output: bool = False
    inputs: int = 1            # input ports drawn (merges fan their inputs out)
    ports: tuple[str, ...] = ("out",)  # output port names (schema v2), port 0 first
    axes: str = ""             # the shape's axes for 1-D / 3-D maps: "C×D×H×W"

    @property
    def tooltip(self) -> str:
        lines = [f"<b>{escape(self.title)}</b> — {escape(self.type_name)}"]
        if self.detail:
            lines.append(escape(self.detail))
        lines.append(f"output: {escape(self.shape)}"
                     + (f" ({escape(self.axes)})" if self.axes else "")
                     + (" (the design's output)" if self.is_output else ""))
        if self.params:
            lines.append(escape(self.params))
        if self.rf:
            lines.append("receptive field: " + escape(self.rf[3:]))
        lines += [f"<span style='color:#c5221f'>⚠ {escape(e)}</span>" for e in self.errors]
        lines += [f"<span style='color:#b06000'>⚠ {escape(w)}</span>" for w in self.warnings]
        return "<br>".join(lines)


def count_text(n: int) -> str:
    """456 -> "456", 1234 -> "1.2K", 999_999 -> "1M", 1_234_567 -> "1.2M"."""
    if n < 1000:
        return str(n)
    units = ((1e3, "K"), (1e6, "M"), (1e9, "G"))
    for i, (size, suffix) in enumerate(units):
        value = round(n / size, 1)
        if value < 1000 or i == len(units) - 1:
            return f"{value:.1f}".removesuffix(".0") + suffix
    return str(n)


def params_text(n: int, frozen: int = 0) -> str:
    if frozen and frozen == n:
        return f"{count_text(n)} frozen"
    return f"{count_text(n)} param" + ("" if n == 1 else "s")


def _num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _pair(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        if len(v) == 2 and v[0] == v[1]:
            return f"{_num(v[0])}×{_num(v[1])}"
        return "×".join("*" if x is None else _num(x) for x in v)
    return f"{_num(v)}×{_num(v)}"


def _scalar(v: Any) -> str:
    """A pair shown as one number when both sides agree (stride 2, padding 1)."""
    if isinstance(v, (list, tuple)):
        if len(v) == 2 and v[0] == v[1]:
            return _num(v[0])
        return ",".join(_num(x) for x in v)
    return _num(v)


def _nonzero(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return any(x != 0 for x in v)
    return v not in (0, None)


def _not_one(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return any(x != 1 for x in v)
    return v not in (1, None)


def _conv_detail(p: dict[str, Any]) -> str:
    parts = []
    if p.get("kernel_size") is not None:
        parts.append(_pair(p["kernel_size"]))
    if p.get("out_channels") is not None:
        parts.append(f"{_num(p['out_channels'])} ch")
    parts.append(f"s{_scalar(p.get('stride', 1))}")
    # dilation and groups before padding: when the line is elided, padding (which
    # the output shape already reflects) is what goes
    if _not_one(p.get("dilation", 1)):
        parts.append(f"d{_scalar(p['dilation'])}")
    if _not_one(p.get("groups", 1)):
        parts.append(f"g{_num(p['groups'])}")
    pad = p.get("padding", 0)
    if isinstance(pad, str):
        parts.append(f"p {pad}")
    elif _nonzero(pad):
        parts.append(f"p{_scalar(pad)}")
    return ", ".join(parts)


def _pool_detail(p: dict[str, Any]) -> str:
    if p.get("kernel_size") is None:
        return ""
    parts = [_pair(p["kernel_size"])]
    stride = p.get("stride")
    if stride is not None and _pair(stride) != _pair(p["kernel_size"]):
        parts.append(f"s{_scalar(stride)}")
    if _nonzero(p.get("padding", 0)):
        parts.append(f"p{_scalar(p['padding'])}")
    if p.get("ceil_mode"):
        parts.append("ceil")
    return ", ".join(parts)


def detail_text(type_name: str, p: dict[str, Any], n_inputs: int = 1) -> str:
    """The key parameters of a layer in a few characters."""
    try:
        if type_name in ("Conv2d", "ConvTranspose2d"):
            return _conv_detail(p)
        if type_name in ("MaxPool2d", "AvgPool2d"):
            return _pool_detail(p)
        if type_name in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
            return "→ " + _pair(p["output_size"]) if p.get("output_size") is not None else ""
        if type_name == "Linear":
            return _num(p["out_features"]) if p.get("out_features") is not None else ""
        if type_name in ("Dropout", "Dropout2d"):
            return f"p={_num(p.get('p', 0.5))}"
        if type_name in ("GroupNorm",):
            return f"{_num(p['num_groups'])} groups" if p.get("num_groups") else ""
        if type_name == "ChannelShuffle":
            return f"{_num(p['groups'])} groups" if p.get("groups") else ""
        if type_name == "LeakyReLU":
            return f"slope {_num(p.get('negative_slope', 0.01))}"
        if type_name == "ELU":
            return f"α={_num(p.get('alpha', 1.0))}"
        if type_name == "GELU" and p.get("approximate") == "tanh":
            return "tanh approx."
        if type_name == "Softmax" and p.get("dim") is not None:
            return f"dim {_num(p['dim'])}"
        if type_name == "Upsample":
            if p.get("size") is not None:
                return f"→ {_pair(p['size'])}, {p.get('mode', 'nearest')}"
            if p.get("scale_factor") is not None:
                return f"×{_num(p['scale_factor'])}, {p.get('mode', 'nearest')}"
            return ""
        if type_name in ("Add", "Concat", "Mul"):
            return f"{n_inputs} inputs"
        if type_name == "Split":
            sections = p.get("split_size_or_sections")
            size = (" + ".join(_num(v) for v in sections) if isinstance(sections, list)
                    else f"by {_num(sections)}")
            return f"{size}, dim {_num(p.get('dim', 1))}"
        if type_name == "MaxUnpool2d":
            return _pool_detail(p)
        if type_name == "PReLU":
            return f"{_num(p.get('num_parameters', 1))} slope(s)"
    except (TypeError, KeyError, ValueError, AttributeError):
        return ""
    return ""


def block_shape(shape: tuple[int, ...] | None) -> str:
    """2-D maps and flat vectors as today ("6×28×28", "120"); 1-D and 3-D maps
    with their axes named ("16×8×56×56 (C×D×H×W)", "32×500 (C×L)")."""
    if shape is None or len(shape) in (1, 3):
        return fmt_shape(shape)
    return shape_text(shape)


def shape_axes(shape: tuple[int, ...] | None) -> str:
    """"C×L" / "C×D×H×W" for 1-D / 3-D maps (a block's tooltip), else ""."""
    return "" if shape is None or len(shape) in (1, 3) else shape_layout(shape)


def rf_text(rf: RF | None) -> str:
    if rf is None:
        return ""
    if rf.whole:
        return "RF all"
    sizes = [_num(float(round(x, 2))) for x in rf.size]
    if len(sizes) == 2:
        h, w = sizes
        return f"RF {h}" if h == w else f"RF {h}×{w}"
    return "RF " + "×".join(sizes)   # 1-D: length; 3-D: depth×height×width


def _issue_text(issue: Any) -> str:
    if issue.fix is not None:
        return f"{issue.message} — fix: {issue.fix.label}"
    return issue.message


def layer_text(layer: Layer, info: LayerInfo | None, analysis: Analysis) -> BlockText:
    category = get_type(layer.type).category if is_known(layer.type) else "Reshape"
    static_ports = get_type(layer.type).port_names(layer.params) if is_known(layer.type) \
        else ("out",)
    if info is None:
        return BlockText(layer.id, layer.type, category, "", "?", "", "",
                         inputs=max(1, len(layer.inputs)), ports=static_ports)
    params = info.resolved or layer.params
    ports = tuple(info.port_names) if info.port_names else static_ports
    return BlockText(
        title=layer.id, type_name=layer.type, category=category,
        detail=detail_text(layer.type, params, len(layer.inputs)),
        shape=fmt_shape(info.output_shape), axes=shape_axes(info.output_shape),
        params=params_text(info.params, info.frozen_params) if info.known else "? params",
        rf=rf_text(info.rf) if info.known else "",
        errors=tuple(_issue_text(e) for e in info.errors),
        warnings=tuple(_issue_text(w) for w in info.warnings),
        is_output=analysis.output_id == layer.id, inputs=max(1, len(layer.inputs)),
        ports=ports)


def text_key(layer: Layer, info: LayerInfo | None, is_output: bool) -> tuple[Any, ...]:
    """Everything layer_text depends on, cheap to build and compare."""
    if info is None:
        return (layer.id, layer.type, None)
    return (layer.id, layer.type, repr(layer.params), len(layer.inputs), is_output,
            info.output_shape, info.trainable_params, info.frozen_params, info.rf,
            tuple(info.port_names),
            tuple((e.message, e.fix.label if e.fix else None) for e in info.errors),
            tuple((w.message, w.fix.label if w.fix else None) for w in info.warnings))


def input_text(analysis: Analysis) -> BlockText:
    valid = all(isinstance(d, int) and d >= 1 for d in analysis.input_shape)
    input_errors = tuple(e.message for e in analysis.errors if "input" in e.message) \
        if not valid else ()
    return BlockText(INPUT_ID, "Input", "Input", shape_layout(analysis.input_shape),
                     fmt_shape(analysis.input_shape) if valid else "?", "", "",
                     errors=input_errors)
