"""The design model: a DAG of layers with one input, and plain-Python events.

Views subscribe with `design.subscribe(callback)`; callbacks receive an Event.
Every mutation goes through a method here, so views and undo commands never
touch the lists directly.
"""
from __future__ import annotations

import copy
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Container, Iterator

from designer.core.catalogue import is_known

INPUT_ID = "input"
MAX_ID_LENGTH = 200
PORT_SEP = ":"  # an input reference is "id" (port 0) or "id:port" (schema v2)


def split_ref(ref: str, known: Container[str]) -> tuple[str, str | None]:
    """An input reference as (layer id, port or None for port 0). A reference
    that is itself a known id stays whole (v1 ids may contain ':'); otherwise
    the text after the last ':' names the port (a number or a port name)."""
    if ref == INPUT_ID or ref in known:
        return ref, None
    head, sep, port = ref.rpartition(PORT_SEP)
    if sep and head and port and (head == INPUT_ID or head in known):
        return head, port
    return ref, None


def make_ref(layer_id: str, port: str | int | None) -> str:
    """The reference to a layer's output port (port 0 is the bare id)."""
    if port is None or port == 0 or port == "0":
        return layer_id
    return f"{layer_id}{PORT_SEP}{port}"


class DesignError(ValueError):
    """An edit the design cannot take (unknown id, cycle, duplicate id...)."""


SPATIAL_KEYS = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


@dataclass
class InputSpec:
    """The design's input: channels plus `length` (1-D), `height` and `width`
    (2-D, the default) or `depth`, `height` and `width` (3-D). A 1-D input has
    no height or width (None); InputSpec(3, 32, 32) is today's 2-D input."""
    channels: int = 3
    height: int | None = 32
    width: int | None = 32
    depth: int | None = None
    length: int | None = None

    def __post_init__(self) -> None:
        if self.length is not None:
            self.height = self.width = self.depth = None

    @classmethod
    def from_shape(cls, shape: tuple[int, ...] | list[int]) -> "InputSpec":
        """(C, L), (C, H, W) or (C, D, H, W) as an InputSpec."""
        c, *sp = shape
        if len(sp) == 1:
            return cls(c, length=sp[0])
        if len(sp) == 2:
            return cls(c, sp[0], sp[1])
        if len(sp) == 3:
            return cls(c, sp[1], sp[2], depth=sp[0])
        raise ValueError(f"an input has 1 to 3 spatial axes, not {len(sp)}")

    @property
    def rank(self) -> int:
        """Spatial axes: 1 (signal), 2 (image) or 3 (volume / clip)."""
        return len(self.spatial)

    @property
    def spatial(self) -> tuple[int, ...]:
        if self.length is not None:
            return (self.length,)
        if self.depth is not None:
            return (self.depth, self.height, self.width)  # type: ignore[return-value]
        return (self.height, self.width)  # type: ignore[return-value]

    @property
    def keys(self) -> tuple[str, ...]:
        """The file's names of the spatial sizes, in order."""
        return SPATIAL_KEYS[self.rank]

    @property
    def shape(self) -> tuple[int, ...]:
        """(C, L), (C, H, W) or (C, D, H, W)."""
        return (self.channels, *self.spatial)


@dataclass
class Layer:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    position: tuple[float, float] | None = None
    frozen: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept on save
    # set by remove_layer when this layer was the named output, so that
    # restore_layer (undo) names it again
    _was_output: bool = field(default=False, init=False, repr=False, compare=False)

    def clone(self) -> "Layer":
        return copy.deepcopy(self)


@dataclass
class Event:
    kind: str   # layer_added, layer_removed, params_changed, edge_added, edge_removed,
    #             layer_moved, layers_moved (ids), layer_renamed, input_changed,
    #             output_changed, name_changed, frozen_changed, reset
    layer_id: str | None = None
    other: str | None = None  # the second end of an edge, or the old id on rename
    ids: tuple[str, ...] = ()  # layers_moved: the layers moved


Listener = Callable[[Event], None]


class Design:
    def __init__(self, name: str = "Untitled", input_spec: InputSpec | None = None) -> None:
        self.name = name
        self.input = input_spec or InputSpec()
        self.layers: list[Layer] = []
        self.output: str | None = None
        self.training: dict[str, Any] | None = None
        self.app: dict[str, Any] | None = None
        self.extra: dict[str, Any] = {}        # unknown keys of "design"
        self.input_extra: dict[str, Any] = {}  # unknown keys of "design.input"
        self.file_extra: dict[str, Any] = {}   # unknown top-level keys
        self._index: dict[str, Layer] = {}
        self._listeners: list[Listener] = []

    # --- events ---------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group the events of one edit: listeners get "batch_begin" before and
        "batch_end" after them (batches nest), e.g. to re-analyse once per edit."""
        self._emit("batch_begin")
        try:
            yield
        finally:
            self._emit("batch_end")

    def begin_batch(self) -> None:
        """batch() in two calls, for an edit whose events come from several calls
        (an undo macro's steps, replayed by Qt): end_batch() must follow."""
        self._emit("batch_begin")

    def end_batch(self) -> None:
        self._emit("batch_end")

    def _emit(self, kind: str, layer_id: str | None = None, other: str | None = None) -> None:
        event = Event(kind, layer_id, other)
        for listener in list(self._listeners):
            listener(event)

    # --- queries --------------------------------------------------------
    def __contains__(self, layer_id: str) -> bool:
        return layer_id in self._index

    def layer(self, layer_id: str) -> Layer:
        try:
            return self._index[layer_id]
        except KeyError:
            raise DesignError(f"no layer with id '{layer_id}'") from None

    def index_of(self, layer_id: str) -> int:
        # by identity: list.index would call Layer.__eq__ (a dataclass's, in
        # Python) on every layer before it
        target = self.layer(layer_id)
        for i, lay in enumerate(self.layers):
            if lay is target:
                return i
        raise DesignError(f"no layer with id '{layer_id}'")

    def source_of(self, ref: str) -> str:
        """The layer id an input reference points at ('pool1:indices' -> 'pool1')."""
        return split_ref(ref, self._index)[0]

    def port_of(self, ref: str) -> str | None:
        """The port an input reference names (None: port 0)."""
        return split_ref(ref, self._index)[1]

    def sources(self, layer_id: str) -> list[str]:
        """The layer ids a layer takes input from (ports dropped)."""
        return [self.source_of(s) for s in self.layer(layer_id).inputs]

    def consumers(self, layer_id: str) -> list[Layer]:
        # plain loops, split_ref only for a reference to one of its ports: this
        # walks every layer (10,000 of them in one gesture)
        prefix = layer_id + PORT_SEP
        out = []
        for lay in self.layers:
            for s in lay.inputs:
                if s == layer_id or (s.startswith(prefix) and self.source_of(s) == layer_id):
                    out.append(lay)
                    break
        return out

    def edges(self) -> list[tuple[str, str]]:
        return [(src, lay.id) for lay in self.layers for src in lay.inputs]

    def unique_id(self, base: str) -> str:
        stem = re.sub(r"\d+$", "", base) or "layer"
        if base not in self._index and base != INPUT_ID:
            return base
        n = 1
        while f"{stem}{n}" in self._index:
            n += 1
        return f"{stem}{n}"

    def default_id(self, type_name: str) -> str:
        stems = {"Conv": "conv", "ConvTranspose": "deconv", "MaxPool": "pool",
                 "AvgPool": "avgpool", "BatchNorm": "bn"}
        stem = {"Linear": "fc", "Flatten": "flatten", "MaxUnpool2d": "unpool"}.get(
            type_name) or stems.get(type_name[:-2] if type_name[-2:] in ("1d", "2d", "3d")
                                    else "", type_name.lower())
        n = 1
        while f"{stem}{n}" in self._index:
            n += 1
        return f"{stem}{n}"

    def output_ids(self) -> list[str]:
        """Layers nothing consumes (or the named output)."""
        if self.output is not None:
            return [self.output]
        used = {self.source_of(src) for lay in self.layers for src in lay.inputs}
        return [lay.id for lay in self.layers if lay.id not in used]

    def upstream_ids(self, layer_id: str) -> set[str]:
        seen: set[str] = set()
        stack = [layer_id]
        index = self._index
        while stack:
            cur = stack.pop()
            if cur == INPUT_ID or cur not in index:
                continue
            for ref in index[cur].inputs:
                # a known id is its own source (split_ref's first case, inlined:
                # this walk covers half of a 10,000-layer chain)
                src = ref if ref in index else self.source_of(ref)
                if src not in seen:
                    seen.add(src)
                    stack.append(src)
        return seen

    def _upstream_of(self, layer_id: str, src: str, old_inputs: list[str]) -> bool:
        """Whether layer_id is upstream of src, for connecting src to it. A layer
        that reads only what layer_id already reads (one inserted just above it,
        or restored there by an undo) is answered without walking upstream (half
        of a 10,000-layer chain): layer_id upstream of it would be a cycle already
        there, through layer_id's own inputs."""
        reads = {self.source_of(ref) for ref in old_inputs}
        if all(self.source_of(ref) in reads for ref in self._index[src].inputs):
            return False
        return layer_id in self.upstream_ids(src)

    # --- mutations ------------------------------------------------------
    def add_layer(self, type_name: str, params: dict[str, Any] | None = None,
                  inputs: list[str] | None = None, layer_id: str | None = None,
                  index: int | None = None, position: tuple[float, float] | None = None,
                  frozen: bool = False) -> Layer:
        """Add a layer. inputs=None takes the last layer (or the input)."""
        if not is_known(type_name):
            raise DesignError(f"unknown layer type '{type_name}'")
        layer_id = layer_id or self.default_id(type_name)
        if inputs is None:
            inputs = [self.layers[-1].id if self.layers else INPUT_ID]
        layer = Layer(layer_id, type_name, dict(params or {}), list(inputs), position, frozen)
        self.insert_layer(layer, len(self.layers) if index is None else index)
        return layer

    def insert_layer(self, layer: Layer, index: int) -> None:
        self._check_new_id(layer.id)
        if len(set(layer.inputs)) != len(layer.inputs):
            raise DesignError(f"'{layer.id}' lists the same input twice")
        for ref in layer.inputs:
            src = self.source_of(ref)
            if src != INPUT_ID and src not in self._index:
                raise DesignError(f"'{layer.id}' takes input from unknown layer '{src}'")
        self.layers.insert(index, layer)
        self._index[layer.id] = layer
        self._emit("layer_added", layer.id)

    def remove_layer(self, layer_id: str) -> tuple[Layer, int, dict[str, list[str]]]:
        """Remove a layer and its edges. Returns what restore_layer needs."""
        layer = self.layer(layer_id)
        index = self.index_of(layer_id)
        old_inputs = {c.id: list(c.inputs) for c in self.consumers(layer_id)}
        for cid in old_inputs:
            self.set_inputs(cid, [s for s in self._index[cid].inputs
                                  if self.source_of(s) != layer_id])
        del self.layers[index]
        del self._index[layer_id]
        layer._was_output = self.output == layer_id
        if layer._was_output:
            self.output = None
            self._emit("output_changed")
        self._emit("layer_removed", layer_id)
        return layer, index, old_inputs

    def restore_layer(self, layer: Layer, index: int, consumer_inputs: dict[str, list[str]]) -> None:
        self.insert_layer(layer, index)
        for cid, inputs in consumer_inputs.items():
            self.set_inputs(cid, inputs, checked=True)
        if layer._was_output:
            layer._was_output = False
            self.set_output(layer.id)

    def set_params(self, layer_id: str, params: dict[str, Any]) -> None:
        self.layer(layer_id).params = dict(params)
        self._emit("params_changed", layer_id)

    def set_param(self, layer_id: str, name: str, value: Any) -> None:
        """Set one parameter; None removes it (back to the default)."""
        params = dict(self.layer(layer_id).params)
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
        self.set_params(layer_id, params)

    def set_frozen(self, layer_id: str, frozen: bool) -> None:
        self.layer(layer_id).frozen = frozen
        self._emit("frozen_changed", layer_id)

    def set_inputs(self, layer_id: str, inputs: list[str], *, checked: bool = False) -> None:
        """checked: the caller knows the new inputs cannot close a cycle, so no walk
        upstream (half of a 10,000-layer chain): a bridge over deleted layers (what
        fed them was upstream of this layer already), or restore_layer putting
        back the inputs a removal took."""
        layer = self.layer(layer_id)
        if len(set(inputs)) != len(inputs):
            raise DesignError(f"'{layer_id}' lists the same input twice")
        old = list(layer.inputs)
        for ref in inputs:
            src = self.source_of(ref)
            if src != INPUT_ID and src not in self._index:
                raise DesignError(f"unknown layer '{src}'")
            # only a new input can close a cycle (the walk upstream is long)
            if ref not in old and not checked and (src == layer_id or (
                    src != INPUT_ID and self._upstream_of(layer_id, src, old))):
                raise DesignError(f"connecting '{src}' to '{layer_id}' would make a cycle")
        layer.inputs = list(inputs)
        for src in old:
            if src not in inputs:
                self._emit("edge_removed", layer_id, src)
        for src in inputs:
            if src not in old:
                self._emit("edge_added", layer_id, src)

    def connect(self, src: str, dst: str, index: int | None = None) -> None:
        """Connect an output (a reference: 'id' or 'id:port') to dst's inputs."""
        layer = self.layer(dst)
        if src in layer.inputs:
            raise DesignError(f"'{src}' already feeds '{dst}'")
        source = self.source_of(src)
        if source == dst or (source != INPUT_ID and dst in self.upstream_ids(source)) \
                or dst == INPUT_ID:
            raise DesignError(f"connecting '{src}' to '{dst}' would make a cycle")
        inputs = list(layer.inputs)
        inputs.insert(len(inputs) if index is None else index, src)
        self.set_inputs(dst, inputs)

    def disconnect(self, src: str, dst: str) -> None:
        """Remove the input reference src (exactly as written, or the only
        reference to that layer's ports) from dst's inputs."""
        layer = self.layer(dst)
        if src not in layer.inputs:
            same = [s for s in layer.inputs if self.source_of(s) == src]
            if len(same) != 1:
                raise DesignError(f"'{src}' does not feed '{dst}'")
            src = same[0]
        self.set_inputs(dst, [s for s in layer.inputs if s != src])

    def move_layer(self, layer_id: str, position: tuple[float, float] | None) -> None:
        self.layer(layer_id).position = position
        self._emit("layer_moved", layer_id)

    def move_layers(self, positions: dict[str, tuple[float, float] | None]) -> None:
        """Move several layers: one "layers_moved" event naming them all (the
        blocks below an insertion into a 10,000-layer chain are 5,000)."""
        unknown = positions.keys() - self._index.keys()
        if unknown:   # every id is checked before anything moves
            self.layer(next(iter(unknown)))
        for layer_id, position in positions.items():
            self._index[layer_id].position = position
        event = Event("layers_moved", ids=tuple(positions))
        for listener in list(self._listeners):
            listener(event)

    def rename_layer(self, old: str, new: str) -> None:
        layer = self.layer(old)
        if new == old:
            return
        self._check_new_id(new)
        del self._index[old]
        layer.id = new
        self._index[new] = layer
        for other in self.layers:
            other.inputs = [_renamed_ref(s, old, new, self._index) for s in other.inputs]
        if self.output == old:
            self.output = new
        self._emit("layer_renamed", new, old)

    def set_input_spec(self, spec: InputSpec) -> None:
        self.input = spec
        self._emit("input_changed")

    def set_output(self, layer_id: str | None) -> None:
        if layer_id is not None:
            self.layer(layer_id)
        self.output = layer_id
        self._emit("output_changed")

    def set_name(self, name: str) -> None:
        self.name = name
        self._emit("name_changed")

    def set_layers(self, layers: list[Layer]) -> None:
        """Replace all layers at once (loading); references are not checked here."""
        self.layers = list(layers)
        self._index = {lay.id: lay for lay in self.layers}
        self._emit("reset")

    def replace_with(self, other: "Design") -> None:
        """Take over another design's content (keeps listeners); emits reset."""
        for attr in ("name", "input", "layers", "output", "training", "app", "extra",
                     "input_extra", "file_extra"):
            setattr(self, attr, copy.deepcopy(getattr(other, attr)))
        self._index = {lay.id: lay for lay in self.layers}
        self._emit("reset")

    def copy(self) -> "Design":
        """A deep copy without listeners (e.g. a snapshot for a training run)."""
        other = Design(self.name, copy.deepcopy(self.input))
        other.replace_with(self)
        return other

    def _check_new_id(self, layer_id: str) -> None:
        if layer_id == INPUT_ID:
            raise DesignError("'input' is reserved for the design input")
        if layer_id in self._index:
            raise DesignError(f"a layer with id '{layer_id}' already exists")
        if not isinstance(layer_id, str) or not 0 < len(layer_id) <= MAX_ID_LENGTH:
            raise DesignError(f"layer id {layer_id!r} must be 1-{MAX_ID_LENGTH} characters")


def _renamed_ref(ref: str, old: str, new: str, known: Container[str]) -> str:
    """ref with its layer id old replaced by new (the port suffix kept)."""
    if ref == old:
        return new
    head, sep, port = ref.rpartition(PORT_SEP)
    if sep and head == old and port and ref not in known:
        return f"{new}{PORT_SEP}{port}"
    return ref
