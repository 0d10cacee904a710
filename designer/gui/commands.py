"""Undo commands: thin, they only call model methods (DESIGN.md §8).

Every user edit is one command pushed on the window's QUndoStack; the model's
events then update the views.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from PySide6.QtGui import QUndoCommand

from designer.core import templates
from designer.core.model import INPUT_ID, Design, DesignError, Layer, split_ref
from designer.core.params import Fix

SET_PARAM_ID = 1001


def _keep_placement(design: Design, stored: list[Layer]) -> None:
    """The canvas places a layer that came without a position after the command
    ran (outside the stack); keep that place so a redo replays it, instead of the
    canvas choosing again from whatever the scene looks like then."""
    for layer in stored:
        if layer.position is None and layer.id in design:
            placed = design.layer(layer.id).position
            layer.position = None if placed is None else tuple(placed)


def _batched(method: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(self: Any) -> None:
        with self.design.batch():
            method(self)
    run.__name__, run.__doc__ = method.__name__, method.__doc__
    return run


class DesignCommand(QUndoCommand):
    """A command on `self.design`: the events of one redo or undo form one
    batch (Design.batch), so the views re-analyse and redraw once per edit."""

    design: Design

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("redo", "undo"):
            if name in cls.__dict__:
                setattr(cls, name, _batched(cls.__dict__[name]))


class _BatchEdge(QUndoCommand):
    """The first (opens) or last step of a macro: when Qt replays the macro
    (undo or redo), its steps' events form one batch, as when it was made."""

    def __init__(self, design: Design, opens: bool) -> None:
        super().__init__()
        self.design, self.opens, self.replay = design, opens, False

    def redo(self) -> None:
        if self.replay:
            (self.design.begin_batch if self.opens else self.design.end_batch)()
        self.replay = True   # the first redo runs inside macro()'s own batch

    def undo(self) -> None:   # Qt undoes a macro's steps last first
        (self.design.end_batch if self.opens else self.design.begin_batch)()


@contextmanager
def macro(stack: Any, design: Design, text: str) -> Iterator[None]:
    """stack.beginMacro / endMacro around the steps of one user action, whose
    events form one batch of the model's, now and when undone or redone: the
    design is analysed and the views redrawn once per action, not per step."""
    with design.batch():
        stack.beginMacro(text)
        try:
            stack.push(_BatchEdge(design, True))
            yield
        finally:
            stack.push(_BatchEdge(design, False))
            stack.endMacro()


class AddLayerCommand(DesignCommand):
    """Add a layer; inputs=None takes the last layer in the list."""

    def __init__(self, design: Design, type_name: str, params: dict[str, Any] | None = None,
                 inputs: list[str] | None = None, layer_id: str | None = None,
                 index: int | None = None, position: tuple[float, float] | None = None) -> None:
        super().__init__(f"Add {type_name}")
        self.design = design
        self.args = (type_name, params, inputs, layer_id, index, position)
        self.layer: Layer | None = None
        self.index = 0

    def redo(self) -> None:
        if self.layer is None:
            type_name, params, inputs, layer_id, index, position = self.args
            self.layer = self.design.add_layer(type_name, params, inputs, layer_id, index,
                                               position).clone()
            self.index = self.design.index_of(self.layer.id)
        else:
            self.design.insert_layer(self.layer.clone(), self.index)

    def undo(self) -> None:
        assert self.layer is not None
        _keep_placement(self.design, [self.layer])
        self.design.remove_layer(self.layer.id)

    @property
    def layer_id(self) -> str:
        assert self.layer is not None
        return self.layer.id


class RemoveLayersCommand(DesignCommand):
    """Delete layers with their edges."""

    def __init__(self, design: Design, ids: list[str]) -> None:
        super().__init__("Delete" if len(ids) != 1 else f"Delete {ids[0]}")
        self.design = design
        self.ids = list(ids)
        self.removed: list[tuple[Layer, int, dict[str, list[str]]]] = []

    def redo(self) -> None:
        self.removed = []
        for lid in self.ids:
            layer, index, consumers = self.design.remove_layer(lid)
            self.removed.append((layer.clone(), index, consumers))

    def undo(self) -> None:
        for layer, index, consumers in reversed(self.removed):
            self.design.restore_layer(layer.clone(), index, consumers)


class SetInputsCommand(DesignCommand):
    """Replace a layer's inputs (connect, disconnect, reorder)."""

    def __init__(self, design: Design, layer_id: str, inputs: list[str], text: str,
                 checked: bool = False) -> None:
        super().__init__(text)
        self.design, self.layer_id, self.new = design, layer_id, list(inputs)
        self.old = list(design.layer(layer_id).inputs)
        self.checked = checked   # a bridge over deleted layers: see Design.set_inputs

    def redo(self) -> None:
        self.design.set_inputs(self.layer_id, self.new, checked=self.checked)

    def undo(self) -> None:
        self.design.set_inputs(self.layer_id, self.old)


def connect_command(design: Design, src: str, dst: str) -> SetInputsCommand:
    """Connect src -> dst (checked by the model when pushed)."""
    inputs = list(design.layer(dst).inputs)
    if src in inputs:
        raise DesignError(f"'{src}' already feeds '{dst}'")
    source = design.source_of(src)   # src may name a port: "split:1"
    if source == dst or (source != INPUT_ID and dst in design.upstream_ids(source)):
        raise DesignError(f"connecting '{src}' to '{dst}' would make a cycle")
    return SetInputsCommand(design, dst, inputs + [src], f"Connect {src} → {dst}")


def disconnect_command(design: Design, src: str, dst: str) -> SetInputsCommand:
    inputs = [s for s in design.layer(dst).inputs if s != src]
    return SetInputsCommand(design, dst, inputs, f"Disconnect {src} → {dst}")


class MoveLayersCommand(DesignCommand):
    """One drag: positions before and after, for every moved block."""

    def __init__(self, design: Design,
                 moves: dict[str, tuple[tuple[float, float] | None, tuple[float, float] | None]]
                 ) -> None:
        super().__init__("Move" if len(moves) != 1 else f"Move {next(iter(moves))}")
        self.design, self.moves = design, dict(moves)

    def redo(self) -> None:
        self.design.move_layers({lid: new for lid, (_, new) in self.moves.items()})

    def undo(self) -> None:
        self.design.move_layers({lid: old for lid, (old, _) in self.moves.items()})


class SetParamCommand(DesignCommand):
    """Change one parameter (None: back to the default). Consecutive edits of
    the same field merge into one undo step."""

    def __init__(self, design: Design, layer_id: str, name: str, value: Any) -> None:
        super().__init__(f"Set {layer_id}.{name}")
        self.design, self.layer_id, self.name = design, layer_id, name
        self.old = copy.deepcopy(design.layer(layer_id).params.get(name))
        self.new = copy.deepcopy(value)

    def id(self) -> int:
        return SET_PARAM_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetParamCommand) or (other.layer_id, other.name) != (
                self.layer_id, self.name):
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.design.set_param(self.layer_id, self.name, copy.deepcopy(self.new))

    def undo(self) -> None:
        self.design.set_param(self.layer_id, self.name, copy.deepcopy(self.old))


class SetParamsCommand(DesignCommand):
    """Replace a layer's whole params dict (apply a fix with several changes)."""

    def __init__(self, design: Design, layer_id: str, params: dict[str, Any], text: str) -> None:
        super().__init__(text)
        self.design, self.layer_id = design, layer_id
        self.old = copy.deepcopy(design.layer(layer_id).params)
        self.new = copy.deepcopy(params)

    def redo(self) -> None:
        self.design.set_params(self.layer_id, copy.deepcopy(self.new))

    def undo(self) -> None:
        self.design.set_params(self.layer_id, copy.deepcopy(self.old))


class RenameLayerCommand(DesignCommand):
    def __init__(self, design: Design, old: str, new: str) -> None:
        super().__init__(f"Rename {old} → {new}")
        self.design, self.old, self.new = design, old, new

    def redo(self) -> None:
        self.design.rename_layer(self.old, self.new)

    def undo(self) -> None:
        self.design.rename_layer(self.new, self.old)


def _inputs_first(layers: list[Layer]) -> list[Layer]:
    """The layers reordered so that each comes after those of the set it reads (a
    copied set keeps the design's list order, which need not follow the data)."""
    pending = {lay.id: lay for lay in layers}
    out: list[Layer] = []
    while pending:
        ready = [lay for lay in pending.values()
                 if not any(split_ref(s, pending)[0] in pending for s in lay.inputs)] \
            or list(pending.values())[:1]
        for lay in ready:
            out.append(pending.pop(lay.id))
    return out


class InsertLayersCommand(DesignCommand):
    """Insert prepared layers (paste, duplicate) at the end, ids already unique."""

    def __init__(self, design: Design, layers: list[Layer], text: str = "Paste") -> None:
        super().__init__(text)
        self.design, self.layers = design, [lay.clone() for lay in _inputs_first(layers)]

    def redo(self) -> None:
        for layer in self.layers:
            self.design.insert_layer(layer.clone(), len(self.design.layers))

    def undo(self) -> None:
        _keep_placement(self.design, self.layers)
        for layer in reversed(self.layers):
            self.design.remove_layer(layer.id)


class InsertTemplateCommand(DesignCommand):
    def __init__(self, design: Design, name: str, upstream: str,
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(f"Insert {name}")
        self.design, self.name, self.upstream, self.params = design, name, upstream, params
        self.insertion: templates.Insertion | None = None

    def redo(self) -> None:
        if self.insertion is None:
            done = templates.insert(self.design, self.name, self.upstream, self.params)
            # copies: the design's own layer objects change with later edits, and a
            # redo must replay the layers as they were inserted
            self.insertion = templates.Insertion([lay.clone() for lay in done.layers],
                                                 copy.deepcopy(done.rewired))
        else:  # replay exactly the same ids
            ins = self.insertion
            index = 0 if self.upstream == "input" else self.design.index_of(self.upstream) + 1
            for offset, layer in enumerate(ins.layers):
                self.design.insert_layer(layer.clone(), index + offset)
            last = ins.layers[-1].id
            for cid, inputs in ins.rewired.items():
                self.design.set_inputs(cid, [last if s == self.upstream else s for s in inputs])

    def undo(self) -> None:
        assert self.insertion is not None
        _keep_placement(self.design, self.insertion.layers)
        templates.remove(self.design, self.insertion)

    @property
    def layer_ids(self) -> list[str]:
        return [] if self.insertion is None else [lay.id for lay in self.insertion.layers]


class InsertOnEdgeCommand(DesignCommand):
    """Insert a new single-input layer on the edge src -> dst."""

    def __init__(self, design: Design, type_name: str, src: str, dst: str,
                 params: dict[str, Any] | None = None,
                 position: tuple[float, float] | None = None) -> None:
        super().__init__(f"Insert {type_name}")
        self.design, self.src, self.dst = design, src, dst
        self.type_name, self.params, self.position = type_name, params, position
        self.layer: Layer | None = None
        self.old_inputs = list(design.layer(dst).inputs)

    def redo(self) -> None:
        index = self.design.index_of(self.dst)
        if self.layer is None:
            self.layer = self.design.add_layer(self.type_name, self.params, [self.src],
                                               index=index, position=self.position).clone()
        else:
            self.design.insert_layer(self.layer.clone(), index)
        self.design.set_inputs(self.dst, [self.layer.id if s == self.src else s
                                          for s in self.old_inputs])

    def undo(self) -> None:
        assert self.layer is not None
        _keep_placement(self.design, [self.layer])
        self.design.set_inputs(self.dst, self.old_inputs)
        self.design.remove_layer(self.layer.id)


def apply_fix_command(design: Design, layer_id: str, fix: Fix) -> QUndoCommand:
    """The one-click remedy of an error: parameter changes, or a layer inserted before."""
    if fix.insert_before:
        layer = design.layer(layer_id)
        src = layer.inputs[0] if layer.inputs else "input"
        cmd: QUndoCommand = InsertOnEdgeCommand(design, fix.insert_before, src, layer_id)
    else:
        params = dict(design.layer(layer_id).params)
        for k, v in fix.params.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        cmd = SetParamsCommand(design, layer_id, params, f"Fix {layer_id}: {fix.label}")
    cmd.setText(f"Fix {layer_id}: {fix.label}")
    return cmd


def _bridges(design: Design, ids: list[str],
             current: Any = None) -> dict[str, list[str]]:
    """New inputs for the layers that read a deleted one: each deleted layer is
    replaced by what fed it (a deleted chain collapses), only where that source has
    one input to follow and the reader then analyses without errors."""
    from designer.core.analysis import analyse
    gone = set(ids)

    def source(ref: str) -> str | None:
        """What feeds the deleted layer `ref` names (an input reference)."""
        seen: set[str] = set()
        while design.source_of(ref) in gone and ref not in seen:
            seen.add(ref)
            inputs = design.layer(design.source_of(ref)).inputs
            if len(inputs) != 1:
                return None
            ref = inputs[0]
        return None if design.source_of(ref) in gone else ref

    def reads_gone(lay: Layer) -> bool:   # split_ref only for references with a port
        for s in lay.inputs:
            if s in gone or (":" in s and design.source_of(s) in gone):
                return True
        return False

    wanted: dict[str, list[str]] = {}
    for lay in design.layers:
        if lay.id in gone or not reads_gone(lay):
            continue
        new: list[str] = []
        for s in lay.inputs:
            s2 = source(s) if design.source_of(s) in gone else s
            if s2 is not None and s2 not in new:
                new.append(s2)
        if new != [s for s in lay.inputs if design.source_of(s) not in gone]:
            wanted[lay.id] = new
    if not wanted:
        return {}
    quick = _readers_ok(design, wanted, gone, current)
    if quick is not None:
        return quick
    trial = design.copy()
    for lid in ids:
        trial.remove_layer(lid)
    for lid, inputs in wanted.items():
        trial.set_inputs(lid, inputs)
    analysis = analyse(trial)
    return {lid: inputs for lid, inputs in wanted.items() if not analysis.layers[lid].errors}


def _readers_ok(design: Design, wanted: dict[str, list[str]], gone: set[str],
                current: Any) -> dict[str, list[str]] | None:
    """_bridges' answer from `current` (the design's analysis) without analysing
    a copy of the whole design: a reader's analysis depends only on its new
    sources', which the deletion leaves as they are unless one of them lies
    below a deleted layer (then None: analyse the copy)."""
    from designer.core.analysis import LayerInfo, _analyse_layer
    if current is None or len(current.layers) != len(design.layers):
        return None
    sources = {design.source_of(ref) for inputs in wanted.values() for ref in inputs}
    if any(s not in current.layers and s != INPUT_ID for s in sources):
        return None
    if any(_reaches(design, s, gone, current.order) for s in sources if s != INPUT_ID):
        return None
    shape = design.input.shape
    valid = all(isinstance(d, int) and d >= 1 for d in shape)
    ok = {}
    for lid, inputs in wanted.items():
        layer = design.layer(lid).clone()
        layer.inputs = list(inputs)
        info = LayerInfo(lid, layer.type)
        _analyse_layer(design, layer, info, current.layers, shape if valid else None)
        if not info.errors:
            ok[lid] = inputs
    return ok


def _reaches(design: Design, start: str, gone: set[str], order: list[str]) -> bool:
    """Whether a layer of `gone` lies upstream of `start`. Layers before every
    one of them in `order` (topological) cannot have one upstream: the walk
    stops there instead of running up to the input (5,000 layers mid-chain)."""
    rank = {lid: i for i, lid in enumerate(order)}
    ranks = [rank.get(g) for g in gone]
    first = min(ranks) if ranks and None not in ranks else -1
    seen: set[str] = set()
    stack = [start]
    while stack:
        cur = stack.pop()
        if cur == INPUT_ID or cur not in design:
            continue
        for ref in design.layer(cur).inputs:
            src = design.source_of(ref)
            if src in gone:
                return True
            if src not in seen and rank.get(src, first) >= first:
                seen.add(src)
                stack.append(src)
    return False


def push_remove_layers(stack: Any, design: Design, ids: list[str],
                       current: Any = None) -> None:
    """Delete layers as one undo step, reconnecting their neighbours when the
    shapes allow (deleting the middle of a chain leaves no gap). `current`, the
    design's analysis when known, saves analysing a copy of the design."""
    bridges = _bridges(design, ids, current)
    with macro(stack, design, "Delete" if len(ids) != 1 else f"Delete {ids[0]}"):
        stack.push(RemoveLayersCommand(design, ids))
        for lid, inputs in bridges.items():
            stack.push(SetInputsCommand(design, lid, inputs, f"Reconnect {lid}",
                                        checked=True))
