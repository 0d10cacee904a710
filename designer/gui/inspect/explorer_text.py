"""The arithmetic of one output as HTML: per input channel the products and
partial sum, the bias, the total and the activation after it; for pooling the
window's values and the max (with its index) or the average and its divisor."""
from __future__ import annotations

import html

from designer.core.conv_arithmetic import CellMath, fmt
from designer.core.conv_explorer import ExplorerSpec

MAX_PRODUCTS = 27      # per channel; more are summed but not listed
MAX_CHANNELS = 6


def _prod(x: float, w: float, muted: bool) -> str:
    xt, wt = fmt(x), fmt(w)
    text = f"{'(' + xt + ')' if x < 0 else xt}·{'(' + wt + ')' if w < 0 else wt}"
    return f"<span style='color:#999'>{text}</span>" if muted else text


def arithmetic_html(spec: ExplorerSpec, m: CellMath,
                    activation: tuple[str, float | None] | None = None) -> str:
    i, j = m.cell
    head = (f"<b>out[{m.out_channel}, {i}, {j}]</b>" if spec.out_channels > 1
            else f"<b>out[{i}, {j}]</b>")
    if spec.kind == "max":
        return head + _max_html(spec, m)
    if spec.kind == "avg":
        return head + _avg_html(spec, m)
    lines = [head + " = Σ over input channels of Σ (input × weight)" +
             (" + bias" if m.bias is not None else "")]
    if spec.groups > 1:
        ch = m.feeding
        per_out = spec.out_channels // spec.groups
        lines.append(f"groups = {spec.groups}: output channel {m.out_channel} is in group "
                     f"{m.out_channel // per_out}, fed only by input channel"
                     + (f"s {ch[0]}–{ch[-1]}" if len(ch) > 1 else f" {ch[0]}"))
    for part in m.channels[:MAX_CHANNELS]:
        if spec.kind == "transposed":
            shown = [p for p in part.products if p.where == "input"]
            skipped = len(part.products) - len(shown)
        else:
            shown, skipped = part.products, 0
        terms = " + ".join(_prod(p.x, p.w, p.where != "input") for p in shown[:MAX_PRODUCTS])
        if len(shown) > MAX_PRODUCTS:
            terms += f" + … ({len(shown) - MAX_PRODUCTS} more)"
        if not shown:
            terms = "0"
        note = (f" <span style='color:#999'>(+ {skipped} taps on inserted zeros or "
                f"padding: 0)</span>" if skipped else "")
        lines.append(f"channel {part.channel}: {terms}{note} = <b>{fmt(part.partial)}</b>")
    if len(m.channels) > MAX_CHANNELS:
        rest = sum(part.partial for part in m.channels[MAX_CHANNELS:])
        lines.append(f"… {len(m.channels) - MAX_CHANNELS} more channels: {fmt(rest)}")
    partials = " + ".join(fmt(part.partial) for part in m.channels[:MAX_CHANNELS])
    if len(m.channels) > MAX_CHANNELS:
        partials += " + …"
    total = f"total = {partials}"
    if m.bias is not None:
        total += f" + {fmt(m.bias)} (bias)"
    lines.append(total + f" = <b>{fmt(m.total)}</b>")
    if activation is not None:
        name, value = activation
        lines.append(f"after {html.escape(name)}: " +
                     (f"{html.escape(name)}({fmt(m.total)}) = <b>{fmt(value)}</b>"
                      if value is not None else "not elementwise, not shown"))
    return "<br>".join(lines)


def _window_rows(spec: ExplorerSpec, m: CellMath) -> str:
    cols = spec.cols.kernel
    rows = []
    for start in range(0, len(m.window), cols):
        cells = [fmt(v) if v is not None else
                 ("pad" if _in_padding(spec, pos) else "past edge")
                 for pos, v in m.window[start:start + cols]]
        rows.append("[" + ", ".join(cells) + "]")
    return " ".join(rows)


def _in_padding(spec: ExplorerSpec, pos: tuple[int, int]) -> bool:
    r, c = pos
    return (-spec.rows.pad_before <= r < spec.rows.size + spec.rows.pad_after
            and -spec.cols.pad_before <= c < spec.cols.size + spec.cols.pad_after)


def _max_html(spec: ExplorerSpec, m: CellMath) -> str:
    lines = [f" = max of the window {_window_rows(spec, m)} = <b>{fmt(m.total)}</b>"]
    if m.index is not None and all(v is None for _, v in m.window):
        lines.append(f"the window covers no input: return_indices still gives "
                     f"<b>{m.index}</b> (its first row and column at or past 0), "
                     f"which need not be a cell of the input")
    elif m.index is not None:
        w = spec.cols.size
        r, c = divmod(m.index, w)
        lines.append(f"the maximum is at input ({r}, {c}): return_indices gives "
                     f"{r}·{w} + {c} = <b>{m.index}</b>")
    if any(v is None and _in_padding(spec, pos) for pos, v in m.window):
        lines.append("padding counts as −∞, so it never wins")
    if any(v is None and not _in_padding(spec, pos) for pos, v in m.window):
        lines.append("ceil_mode: this last window runs past the edge; only the cells it "
                     "covers count")
    return "<br>".join(lines)


def _avg_html(spec: ExplorerSpec, m: CellMath) -> str:
    values = [v for _, v in m.window if v is not None]
    total = sum(values)
    why = []
    if spec.divisor_override:
        why.append("divisor_override")
    else:
        pads = sum(1 for pos, v in m.window if v is None and _in_padding(spec, pos))
        past = sum(1 for pos, v in m.window if v is None and not _in_padding(spec, pos))
        if pads:
            why.append(f"{pads} padded cell{'s' if pads > 1 else ''} "
                       + ("counted (count_include_pad)" if spec.count_include_pad
                          else "not counted (count_include_pad off)"))
        if past:
            why.append(f"{past} cell{'s' if past > 1 else ''} past the edge not counted "
                       f"(ceil_mode window)")
    lines = [f" = average of the window {_window_rows(spec, m)}",
             f"sum {fmt(total)} / divisor {m.divisor} = <b>{fmt(m.total)}</b>"
             + (f" — {'; '.join(why)}" if why else "")]
    return "<br>".join(lines)
