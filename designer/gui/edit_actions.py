"""Cut/copy/paste/duplicate through the clipboard: design-file JSON of the
selected layers."""
from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtGui import QGuiApplication, QUndoStack

from designer.core.catalogue import is_known
from designer.core.model import INPUT_ID, Design, Layer, make_ref, split_ref
from designer.gui.commands import InsertLayersCommand, push_remove_layers
from designer.gui.context import DesignContext
from designer.io.design_file import FORMAT, SCHEMA_VERSION, DesignFileError, from_dict

PASTE_OFFSET = 40.0


class ClipboardError(ValueError):
    """The clipboard holds no layers this app can paste."""


def layers_json(design: Design, ids: list[str]) -> str:
    """The selected layers as a design file; every layer lists its inputs explicitly
    (inputs from outside the selection are kept so a paste can reconnect them)."""
    chosen = [lay for lay in design.layers if lay.id in set(ids)]
    layers = []
    for lay in chosen:
        entry: dict[str, Any] = {"id": lay.id, "type": lay.type, "inputs": list(lay.inputs)}
        if lay.params:
            entry["params"] = lay.params
        if lay.position is not None:
            entry["position"] = list(lay.position)
        if lay.frozen:
            entry["frozen"] = True
        layers.append(entry)
    spec = design.input
    data = {"format": FORMAT, "schema_version": SCHEMA_VERSION,
            "design": {"name": design.name, "input": {"channels": spec.channels,
                                                      "height": spec.height,
                                                      "width": spec.width},
                       "layers": layers}}
    return json.dumps(data, indent=2, ensure_ascii=False)


def parse_layers(text: str) -> tuple[list[Layer], dict[str, list[str]]]:
    """Layers from clipboard text, and each layer's inputs from outside the set."""
    try:
        data = json.loads(text)
        raw = data["design"]["layers"]
        if not isinstance(raw, list) or not raw:
            raise ClipboardError("the clipboard holds no layers")
    except (ValueError, KeyError, TypeError):
        raise ClipboardError("the clipboard holds no CNN Designer layers") from None
    ids = {r.get("id") for r in raw if isinstance(r, dict)}
    external: dict[str, list[str]] = {}
    stripped = []
    for r in raw:
        if not isinstance(r, dict):
            raise ClipboardError("the clipboard holds no CNN Designer layers")
        r = dict(r)
        inputs = r.get("inputs") if isinstance(r.get("inputs"), list) else []
        inside = [s for s in inputs if isinstance(s, str) and split_ref(s, ids)[0] in ids]
        external[str(r.get("id"))] = [s for s in inputs if s not in inside]
        r["inputs"] = inside
        stripped.append(r)
    try:
        pasted = from_dict({**data, "design": {**data["design"], "layers": stripped}})
    except DesignFileError as e:
        raise ClipboardError(f"cannot paste: {e}") from None
    return [lay.clone() for lay in pasted.layers], external


def prepare_paste(design: Design, layers: list[Layer], external: dict[str, list[str]],
                  anchor: str | None) -> list[Layer]:
    """Fresh unique ids, internal edges kept; outside inputs go to the anchor (the
    selected layer) or, without one, back to their old source if it still exists."""
    taken = {lay.id for lay in design.layers} | {INPUT_ID}
    mapping: dict[str, str] = {}
    for lay in layers:
        new = lay.id if lay.id not in taken else _fresh(lay.id, taken)
        taken.add(new)
        mapping[lay.id] = new
    out = []
    fallback = anchor or (design.layers[-1].id if design.layers else INPUT_ID)
    for lay in layers:
        outside = external.get(lay.id, [])
        inputs = []
        for ref in lay.inputs:   # "split:1" inside the selection -> "<new id>:1"
            src, port = split_ref(ref, mapping)
            inputs.append(make_ref(mapping[src], port))
        if outside:
            if anchor is not None:
                resolved = [anchor]
            else:
                resolved = [s for s in outside if isinstance(s, str) and (
                    s == INPUT_ID or design.source_of(s) in design)] or [fallback]
            inputs = [s for s in resolved if s not in inputs] + inputs
        position = None if lay.position is None else (lay.position[0] + PASTE_OFFSET,
                                                      lay.position[1] + PASTE_OFFSET)
        out.append(Layer(mapping[lay.id], lay.type, dict(lay.params), inputs, position,
                         lay.frozen))
    return out


def _fresh(base: str, taken: set[str]) -> str:
    stem = base.rstrip("0123456789") or "layer"
    n = 1
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"


class Clipboard:
    """Copy/cut/paste/duplicate for a window's design and undo stack."""

    def __init__(self, context: DesignContext, stack: QUndoStack) -> None:
        self.context, self.stack = context, stack
        # how prepared layers go in: the window's canvas places them (see
        # canvas.edits.insert_layers_after); plain insertion without one
        self.insert: Callable[[list[Layer], str | None, str], None] = self._insert

    def _insert(self, layers: list[Layer], anchor: str | None, label: str) -> None:
        self.stack.push(InsertLayersCommand(self.context.design, layers, label))

    def copy(self, ids: list[str]) -> bool:
        ids = [i for i in ids if i in self.context.design]
        if not ids:
            return False
        QGuiApplication.clipboard().setText(layers_json(self.context.design, ids))
        return True

    def cut(self, ids: list[str]) -> bool:
        if not self.copy(ids):
            return False
        ids = [i for i in ids if i in self.context.design]
        push_remove_layers(self.stack, self.context.design, ids)
        return True

    def paste(self, text: str | None = None, anchor: str | None = None,
              label: str = "Paste") -> list[str]:
        """Raises ClipboardError when there is nothing to paste."""
        text = QGuiApplication.clipboard().text() if text is None else text
        layers, external = parse_layers(text or "")
        unknown = [lay.type for lay in layers if not is_known(lay.type)]
        if unknown:
            raise ClipboardError(f"unknown layer type '{unknown[0]}'")
        ready = prepare_paste(self.context.design, layers, external, anchor)
        self.insert(ready, anchor, label)
        self.context.select(ready[-1].id)
        return [lay.id for lay in ready]

    def duplicate(self, ids: list[str]) -> list[str]:
        """The copy follows the selection (after its one last layer, when it has one)."""
        ids = [i for i in ids if i in self.context.design]
        if not ids:
            return []
        design = self.context.design
        fed = {s for i in ids for s in design.sources(i)}
        sinks = [i for i in ids if i not in fed]
        anchor = sinks[0] if len(sinks) == 1 else None
        return self.paste(layers_json(design, ids), anchor, "Duplicate")
