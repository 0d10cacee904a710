"""Analytic per-layer analysis: shapes, parameters, MACs, memory, receptive
field, errors and warnings. Pure Python and fast: it runs on every edit."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from designer.core.catalogue import (RF, Ctx, LayerError, Shape, Source, fmt_shape,
                                     get_type, input_rf, is_known, prod)
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
    # each input resolved to (source layer id, port index), in input order
    sources: list[tuple[str, int]] = field(default_factory=list)
    # every output port (port 0 first): name, shape and receptive field
    port_names: list[str] = field(default_factory=list)
    port_shapes: list[Shape] = field(default_factory=list)
    port_rfs: list[RF | None] = field(default_factory=list)
    call_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> int:
        return self.trainable_params + self.frozen_params

    @property
    def memory(self) -> int:
        """Bytes of this layer's outputs (every port) per sample (float32)."""
        return sum(prod(s) for s in self.port_shapes) * BYTES_PER_VALUE

    @property
    def multi_output(self) -> bool:
        return len(self.port_names) > 1

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
    # totals, summed once: every view reads them after every edit, and a
    # 10,000-layer sum takes milliseconds (an analysis is not changed once made)
    _totals: dict[str, int] = field(default_factory=dict, init=False, compare=False,
                                    repr=False)

    def _total(self, name: str, value: Callable[[LayerInfo], int]) -> int:
        got = self._totals.get(name)
        if got is None:
            got = self._totals[name] = sum(value(i) for i in self.layers.values())
        return got

    def totals_steps(self) -> Generator[None, None, None]:
        """Sums every total in one pass, in steps (a yield every 200 layers), so
        that a caller slicing a large analysis never sums 10,000 layers at once."""
        params = trainable = frozen = macs = memory = errors = warnings = 0
        for n, info in enumerate(self.layers.values()):
            trainable += info.trainable_params
            frozen += info.frozen_params
            macs += info.macs
            memory += info.memory
            errors += len(info.errors)
            warnings += len(info.warnings)
            if n % 200 == 199:
                yield
        params = trainable + frozen
        self._totals.update(params=params, trainable=trainable, frozen=frozen, macs=macs,
                            memory=memory, errors=errors, warnings=warnings)

    @property
    def output_shape(self) -> Shape | None:
        if self.output_id is None or self.output_id not in self.layers:
            return None
        return self.layers[self.output_id].output_shape

    @property
    def total_params(self) -> int:
        return self._total("params", lambda i: i.params)

    @property
    def trainable_params(self) -> int:
        return self._total("trainable", lambda i: i.trainable_params)

    @property
    def frozen_params(self) -> int:
        return self._total("frozen", lambda i: i.frozen_params)

    @property
    def total_macs(self) -> int:
        return self._total("macs", lambda i: i.macs)

    @property
    def total_memory(self) -> int:
        return self._total("memory", lambda i: i.memory)

    @property
    def all_errors(self) -> list[tuple[str | None, Issue]]:
        out: list[tuple[str | None, Issue]] = [(None, e) for e in self.errors]
        for info in self.layers.values():
            out.extend((info.id, e) for e in info.errors)
        return out

    @property
    def error_count(self) -> int:   # len(all_errors) without building it: runs per edit
        return len(self.errors) + self._total("errors", lambda i: len(i.errors))

    @property
    def warning_count(self) -> int:
        return self._total("warnings", lambda i: len(i.warnings))

    @property
    def ok(self) -> bool:
        return self.error_count == 0


INPUT_RF = input_rf(2)  # a 2-D input's field; input_rf(rank) for any rank


def topological_order(design: Design) -> tuple[list[str], set[str]]:
    """Layer ids in an order where inputs come first (list order breaks ties),
    and the ids caught in cycles."""
    return run_steps(_topological_steps(design))


def _topological_steps(design: Design) -> Generator[None, None, tuple[list[str], set[str]]]:
    """topological_order() in steps (a yield every few hundred layers)."""
    ids = [lay.id for lay in design.layers]
    known = set(ids)
    pending: dict[str, set[str]] = {}   # each layer's sources among the layers
    consumers: dict[str, list[str]] = {i: [] for i in ids}
    for n, lay in enumerate(design.layers):
        srcs = {design.source_of(s) for s in lay.inputs}
        srcs.intersection_update(known)
        pending[lay.id] = srcs
        for s in srcs:
            consumers[s].append(lay.id)
        if n % 200 == 0:
            yield
    position = {i: n for n, i in enumerate(ids)}
    ready = sorted((i for i in ids if not pending[i]), key=position.__getitem__)
    order: list[str] = []
    import heapq
    heap = [(position[i], i) for i in ready]
    heapq.heapify(heap)
    yield
    while heap:
        _, cur = heapq.heappop(heap)
        order.append(cur)
        for c in consumers[cur]:
            pending[c].discard(cur)
            if not pending[c]:
                heapq.heappush(heap, (position[c], c))
        if len(order) % 500 == 0:
            yield
    in_cycle = known - set(order)
    return order, in_cycle


def merge_rf(fields: list[RF]) -> RF:
    """The union of several receptive fields (for Add / Concat)."""
    if len(fields) == 1:
        return fields[0]
    size, jump, start = [], [], []
    for ax in range(min(len(f.size) for f in fields)):
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
    if t.max_inputs == 1 and n > 1:
        info.error(f"{layer.type} takes one input but has {n}: merge them first with "
                   f"Add or Concat")
        return False
    if t.max_inputs and n > t.max_inputs:
        info.error(f"{layer.type} takes {t.max_inputs} inputs but has {n}: remove one")
        return False
    return True


def _resolve(design: Design, infos: dict[str, LayerInfo], ref: str
             ) -> tuple[str, int | None, str | None]:
    """An input reference as (source id, port index or None while the source
    is unknown, error message or None)."""
    src, port = design.source_of(ref), design.port_of(ref)
    if src != INPUT_ID and src not in infos:
        return src, None, f"takes input from '{ref}', which does not exist: reconnect it"
    if src == INPUT_ID:
        names: list[str] = ["out"]
    elif infos[src].known:
        names = infos[src].port_names
    else:
        return src, None, None
    if port is None:
        return src, 0, None
    index = int(port) if port.isascii() and port.isdigit() else (
        names.index(port) if port in names else -1)
    if 0 <= index < len(names):
        return src, index, None
    src_type = "the input" if src == INPUT_ID else f"'{src}' ({infos[src].type})"
    if src != INPUT_ID and infos[src].type.startswith("MaxPool") and port in ("1", "indices"):
        return src, None, (f"takes '{ref}', but {src_type} gives no indices: turn on "
                           f"return_indices there")
    listed = ", ".join(f"{n}" if str(i) == n else f"{i} ({n})" for i, n in enumerate(names))
    return src, None, (f"takes '{ref}', but {src_type} has no output '{port}' (its outputs: "
                       f"{listed}): reconnect it")


def _analyse_layer(design: Design, layer: Layer, info: LayerInfo,
                   infos: dict[str, LayerInfo], input_shape: Shape | None) -> None:
    if not is_known(layer.type):
        info.error(f"unknown layer type '{layer.type}'")
        return
    resolved = [_resolve(design, infos, ref) for ref in layer.inputs]
    problems = [msg for _, _, msg in resolved if msg]
    if problems:
        info.error(problems[0])
        return
    if not _check_arity(layer, info):
        return
    if any(index is None for _, index, _ in resolved):
        return  # an upstream error: stay "unknown" rather than guess
    info.sources = [(src, index) for src, index, _ in resolved]  # type: ignore[misc]
    shapes, fields, sources = [], [], []
    for src, index in info.sources:
        if src == INPUT_ID:
            shapes.append(input_shape)
            fields.append(input_rf(len(input_shape) - 1) if input_shape else INPUT_RF)
            sources.append(Source(src, "Input", {}, None, "out"))
            continue
        up = infos[src]
        shapes.append(up.port_shapes[index])
        fields.append(up.port_rfs[index])
        sources.append(Source(src, up.type, up.resolved,
                              up.input_shapes[0] if up.input_shapes else None,
                              up.port_names[index]))
    info.input_shapes = shapes
    if any(s is None for s in shapes):
        return
    t = get_type(layer.type)
    try:
        info.resolved = t.resolve(layer.params)
        out = t.rule(Ctx(layer.type, info.resolved, shapes, sources))  # type: ignore[arg-type]
    except LayerError as e:
        info.error(e.message, e.fix)
        return
    port_shapes = [shape for _, shape, _ in out.ports] or [out.shape]
    if min(min(s) for s in port_shapes) < 1:
        info.error(f"the output {fmt_shape(out.shape)} is empty")
        return
    info.output_shape = out.shape
    if layer.frozen:
        info.frozen_params = out.param_count
    else:
        info.trainable_params = out.param_count
    info.breakdown, info.buffers, info.macs = out.params, out.buffers, out.macs
    info.formulas, info.inferred = out.formulas, out.inferred
    info.call_kwargs = out.call_kwargs
    info.warnings = [Issue("warning", w) for w in out.warnings]
    if all(f is not None for f in fields):
        merged = merge_rf(fields)  # type: ignore[arg-type]
        info.rf = merged if out.rf is None else out.rf(merged)
    info.port_names = [name for name, _, _ in out.ports] or ["out"]
    info.port_shapes = port_shapes
    info.port_rfs = [info.rf if info.rf is None or update is None else update(info.rf)
                     for _, _, update in out.ports] or [info.rf]


def analyse(design: Design) -> Analysis:
    return run_steps(analyse_steps(design))


def run_steps(steps: Generator[None, None, Any]) -> Any:
    """Runs a generator of steps to its end and returns what it returns."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def analyse_steps(design: Design) -> Generator[None, None, Analysis]:
    """analyse() in steps: yields after each layer, so a caller can spread a
    large design's analysis over many short turns of an event loop (the GUI
    thread). The design must not change between steps (start again if it did)."""
    spec = design.input
    input_shape: Shape = spec.shape
    order, in_cycle = yield from _topological_steps(design)
    infos: dict[str, LayerInfo] = {}
    for lay in design.layers:
        infos[lay.id] = LayerInfo(lay.id, lay.type)
        if len(infos) % 500 == 0:
            yield
    result = Analysis(input_shape, infos, order, None)
    valid_input = all(isinstance(d, int) and d >= 1 for d in input_shape)
    if not valid_input:
        sizes = ", ".join(("channels",) + spec.keys[:-1]) + " and " + spec.keys[-1]
        result.errors.append(Issue("error", f"the input needs {sizes} ≥ 1"))
    for lid in order:
        _analyse_layer(design, design.layer(lid), infos[lid], infos,
                       input_shape if valid_input else None)
        yield
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
