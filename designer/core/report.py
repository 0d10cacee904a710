"""Summaries of an analysis: the JSON object of DESIGN.md §6 and a text table."""
from __future__ import annotations

import math
from typing import Any

from designer.core.analysis import Analysis
from designer.core.catalogue import RF, fmt_shape
from designer.core.model import Design, Layer


def _num(x: float) -> float | int | None:
    """A number for JSON: whole numbers as ints; overflowed fields as null."""
    if not math.isfinite(x):
        return None
    return int(x) if float(x).is_integer() else round(x, 4)


def rf_dict(rf: RF | None, input_hw: tuple[int, ...] | None = None) -> dict[str, Any] | None:
    """The field as JSON. A field that sees the whole input (after Linear or
    global pooling) is given as the input itself when input_hw is known."""
    if rf is None:
        return None
    if rf.whole and input_hw is not None and len(input_hw) == len(rf.size):
        return {"size": list(input_hw), "jump": list(input_hw),
                "start": [_num((n - 1) / 2) for n in input_hw]}
    return {"size": [_num(v) for v in rf.size], "jump": [_num(v) for v in rf.jump],
            "start": [_num(v) for v in rf.start]}


def rf_text(rf: RF | None) -> str:
    if rf is None:
        return "?"
    if rf.whole:
        return "whole input"
    sizes = [_num(v) for v in rf.size]
    if any(v is None for v in sizes):
        return "?"
    return "×".join(str(v) for v in sizes)


def flow_order(design: Design, analysis: Analysis) -> list[Layer]:
    """The layers in data-flow order (inputs before the layers that read them; list
    order breaks ties), then any caught in a cycle, in list order."""
    # plain dict lookups: the summary table asks after every large analysis
    by_id = {lay.id: lay for lay in design.layers}
    order = [by_id[lid] for lid in analysis.order if lid in by_id]
    seen = {lay.id for lay in order}
    return order + [lay for lay in design.layers if lay.id not in seen]


def summary_dict(design: Design, analysis: Analysis) -> dict[str, Any]:
    """The `summary --json` object: exactly the keys of DESIGN.md §6."""
    def shape(s: tuple[int, ...] | None) -> list[int] | None:
        return None if s is None else list(s)

    layers = []
    for lay in flow_order(design, analysis):
        info = analysis.layers[lay.id]
        entry: dict[str, Any] = {
            "id": lay.id, "type": lay.type, "output_shape": shape(info.output_shape),
            "params": info.params, "macs": info.macs,
            "receptive_field": rf_dict(info.rf, analysis.input_shape[1:]),
            "errors": [e.message for e in info.errors],
            "warnings": [w.message for w in info.warnings],
        }
        if info.multi_output:
            # schema v2: a layer with several outputs lists each port (port 0 first)
            entry["ports"] = [{"name": name, "output_shape": shape(s),
                               "receptive_field": rf_dict(rf, analysis.input_shape[1:])}
                              for name, s, rf in zip(info.port_names, info.port_shapes,
                                                     info.port_rfs)]
        layers.append(entry)
    return {
        "name": design.name, "input_shape": list(analysis.input_shape),
        "output_shape": shape(analysis.output_shape), "total_params": analysis.total_params,
        "trainable_params": analysis.trainable_params, "total_macs": analysis.total_macs,
        "errors": [(f"{lid}: " if lid else "") + e.message for lid, e in analysis.all_errors],
        "layers": layers,
    }


def human(n: int) -> str:
    """1234567 -> '1.23M'."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def summary_table(design: Design, analysis: Analysis) -> str:
    head = ("id", "type", "output", "params", "MACs", "receptive field")
    rows = [head, ("input", "Input", fmt_shape(analysis.input_shape), "", "",
                   "×".join("1" * (len(analysis.input_shape) - 1)))]
    for lay in flow_order(design, analysis):
        info = analysis.layers[lay.id]
        shapes = (" / ".join(fmt_shape(s) for s in info.port_shapes) if info.multi_output
                  else fmt_shape(info.output_shape))
        rows.append((lay.id, lay.type, shapes, f"{info.params:,}",
                     human(info.macs) if info.macs else "", rf_text(info.rf)))
    rows = [tuple(c.replace("\n", " ")[:40] for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {3, 4}

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [f"{design.name}", line(head), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows[1:]]
    out.append("  ".join("-" * w for w in widths))
    frozen = f" ({analysis.frozen_params:,} frozen)" if analysis.frozen_params else ""
    out.append(f"Total params: {analysis.total_params:,}{frozen}   "
               f"Trainable: {analysis.trainable_params:,}")
    out.append(f"Total MACs: {analysis.total_macs:,} ({human(analysis.total_macs)})   "
               f"Activations: {analysis.total_memory / 2**20:.2f} MB per image (float32)")
    out.append(f"Input: {fmt_shape(analysis.input_shape)}   "
               f"Output: {fmt_shape(analysis.output_shape)}")
    problems = analysis.all_errors
    warnings = [(i.id, w) for i in analysis.layers.values() for w in i.warnings]
    if problems:
        out.append(f"\n{len(problems)} error(s):")
        for lid, e in problems:
            out.append(f"  ✗ {lid + ': ' if lid else ''}{e.message}"
                       + (f"  [fix: {e.fix.label}]" if e.fix else ""))
    if warnings:
        out.append(f"\n{len(warnings)} warning(s):")
        out += [f"  ! {lid}: {w.message}" for lid, w in warnings]
    return "\n".join(out)
