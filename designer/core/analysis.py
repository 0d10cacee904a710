"""Analytic per-layer analysis: shapes, parameters, MACs, memory, receptive
field, errors and warnings. Pure Python and fast: it runs on every edit."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from designer.core.catalogue import (RF, Ctx, LayerError, Shape, fmt_shape, get_type,
                                     is_known, prod)
from designer.core.model import INPUT_ID, Design, Layer
from designer.core.params import Fix

BYTES_PER_VALUE = 4  # float32 activations


@dataclass
class Issue:
    severity: str  # "error" or "warning"
    message: str
    fix: Fix | None = None


@dataclass
class LayerInfo:
    id: str
    type: str
    input_shapes: list[Shape | None] = field(default_factory=list)
    output_shape: Shape | None = None
    trainable_params: int = 0
    frozen_params: int = 0
    breakdown: list[tuple[str, int, str]] = field(default_factory=list)
    buffers: int = 0
    macs: int = 0
    rf: RF | None = None
    formulas: list[str] = field(default_factory=list)
    inferred: dict[str, Any] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def params(self) -> int:
        return self.trainable_params + self.frozen_params

    @property
    def memory(self) -> int:
        """Bytes of this layer's output activation per sample (float32)."""
        return 0 if self.output_shape is None else prod(self.output_shape) * BYTES_PER_VALUE

    @property
    def known(self) -> bool:
        return self.output_shape is not None

    def error(self, message: str, fix: Fix | None = None) -> None:
        self.errors.append(Issue("error", message, fix))


@dataclass
class Analysis:
    input_shape: Shape
    layers: dict[str, LayerInfo]
    order: list[str]
    output_id: str | None
    errors: list[Issue] = field(default_factory=list)

    @property
    def output_shape(self) -> Shape | None:
        if self.output_id is None or self.output_id not in self.layers:
            return None
        return self.layers[self.output_id].output_shape

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.layers.values())

    @property
    def trainable_params(self) -> int:
        return sum(i.trainable_params for i in self.layers.values())

    @property
    def frozen_params(self) -> int:
        return sum(i.frozen_params for i in self.layers.values())

    @property
    def total_macs(self) -> int:
        return sum(i.macs for i in self.layers.values())

    @property
    def total_memory(self) -> int:
        return sum(i.memory for i in self.layers.values())

    @property
    def all_errors(self) -> list[tuple[str | None, Issue]]:
        out: list[tuple[str | None, Issue]] = [(None, e) for e in self.errors]
        for info in self.layers.values():
            out.extend((info.id, e) for e in info.errors)
        return out

    @property
    def error_count(self) -> int:   # len(all_errors) without building it: runs per edit
        return len(self.errors) + sum(len(i.errors) for i in self.layers.values())

    @property
    def warning_count(self) -> int:
        return sum(len(i.warnings) for i in self.layers.values())

    @property
    def ok(self) -> bool:
        return self.error_count == 0


INPUT_RF = RF((1.0, 1.0), (1.0, 1.0), (0.0, 0.0))


def topological_order(design: Design) -> tuple[list[str], set[str]]:
    """Layer ids in an order where inputs come first (list order breaks ties),
    and the ids caught in cycles."""
    ids = [lay.id for lay in design.layers]
    known = set(ids)
    pending = {lay.id: {s for s in lay.inputs if s in known} for lay in design.layers}
    consumers: dict[str, list[str]] = {i: [] for i in ids}
    for lay in design.layers:
        for s in set(lay.inputs):
            if s in known:
                consumers[s].append(lay.id)
    position = {i: n for n, i in enumerate(ids)}
    ready = sorted((i for i in ids if not pending[i]), key=position.__getitem__)
    order: list[str] = []
    import heapq
    heap = [(position[i], i) for i in ready]
    heapq.heapify(heap)
    while heap:
        _, cur = heapq.heappop(heap)
        order.append(cur)
        for c in consumers[cur]:
            pending[c].discard(cur)
            if not pending[c]:
                heapq.heappush(heap, (position[c], c))
    in_cycle = known - set(order)
    return order, in_cycle


def merge_rf(fields: list[RF]) -> RF:
    """The union of several receptive fields (for Add / Concat)."""
    if len(fields) == 1:
        return fields[0]
    size, jump, start = [], [], []
    for ax in range(2):
        lo = min(f.start[ax] - (f.size[ax] - 1) / 2 for f in fields)
        hi = max(f.start[ax] + (f.size[ax] - 1) / 2 for f in fields)
        size.append(hi - lo + 1)
        start.append((lo + hi) / 2)
        jump.append(max(f.jump[ax] for f in fields))
    return RF(tuple(size), tuple(jump), tuple(start),  # type: ignore[arg-type]
              any(f.whole for f in fields))


def _check_arity(layer: Layer, info: LayerInfo) -> bool:
    t = get_type(layer.type)
    n = len(layer.inputs)
    if n == 0:
        info.error("this layer has no input: connect one to it")
        return False
    if n < t.min_inputs:
        info.error(f"{layer.type} needs at least {t.min_inputs} inputs but has {n}: "
                   f"connect another branch to it")
        return False
    if t.max_inputs and n > t.max_inputs:
        info.error(f"{layer.type} takes one input but has {n}: merge them first with "
                   f"Add or Concat")
        return False
    return True


def _analyse_layer(layer: Layer, info: LayerInfo, shapes: dict[str, Shape | None],
                   fields: dict[str, RF | None]) -> None:
    if not is_known(layer.type):
        info.error(f"unknown layer type '{layer.type}'")
        return
    missing = [s for s in layer.inputs if s not in shapes]
    if missing:
        info.error(f"takes input from '{missing[0]}', which does not exist: reconnect it")
        return
    if not _check_arity(layer, info):
        return
    info.input_shapes = [shapes[s] for s in layer.inputs]
    if any(s is None for s in info.input_shapes):
        return  # an upstream error: stay "unknown" rather than guess
    t = get_type(layer.type)
    try:
        info.resolved = t.resolve(layer.params)
        out = t.rule(Ctx(layer.type, info.resolved, info.input_shapes))  # type: ignore[arg-type]
    except LayerError as e:
        info.error(e.message, e.fix)
        return
    if min(out.shape) < 1:
        info.error(f"the output {fmt_shape(out.shape)} is empty")
        return
    info.output_shape = out.shape
    if layer.frozen:
        info.frozen_params = out.param_count
    else:
        info.trainable_params = out.param_count
    info.breakdown, info.buffers, info.macs = out.params, out.buffers, out.macs
    info.formulas, info.inferred = out.formulas, out.inferred
    info.warnings = [Issue("warning", w) for w in out.warnings]
    upstream = [fields[s] for s in layer.inputs]
    if all(f is not None for f in upstream):
        merged = merge_rf(upstream)  # type: ignore[arg-type]
        info.rf = merged if out.rf is None else out.rf(merged)


def analyse(design: Design) -> Analysis:
    spec = design.input
    input_shape: Shape = (spec.channels, spec.height, spec.width)
    order, in_cycle = topological_order(design)
    infos = {lay.id: LayerInfo(lay.id, lay.type) for lay in design.layers}
    result = Analysis(input_shape, infos, order, None)
    valid_input = all(isinstance(d, int) and d >= 1 for d in input_shape)
    if not valid_input:
        result.errors.append(Issue("error", "the input needs channels, height and width ≥ 1"))
    shapes: dict[str, Shape | None] = {INPUT_ID: input_shape if valid_input else None}
    fields: dict[str, RF | None] = {INPUT_ID: INPUT_RF}
    for lid in order:
        layer = design.layer(lid)
        _analyse_layer(layer, infos[lid], shapes, fields)
        shapes[lid] = infos[lid].output_shape
        fields[lid] = infos[lid].rf
    for lid in in_cycle:
        infos[lid].error("this layer is part of a cycle: a network must flow one way")
    _check_outputs(design, result)
    return result


def _check_outputs(design: Design, result: Analysis) -> None:
    if not design.layers:
        result.errors.append(Issue("error", "the design has no layers yet: add one from "
                                            "the palette"))
        return
    if design.output is not None:
        if design.output in design:
            result.output_id = design.output
        else:
            result.errors.append(Issue("error", f"the output '{design.output}' does not exist"))
        return
    outs = design.output_ids()
    if not outs:
        result.errors.append(Issue("error", "every layer feeds another, so there is no output"))
        return
    result.output_id = outs[-1]
    if len(outs) > 1:
        last = outs[-1]
        for lid in outs[:-1]:
            result.layers[lid].error(
                f"nothing uses this layer's output, so the design has {len(outs)} outputs "
                f"('{last}' is taken as the output): connect it onward or delete it")
