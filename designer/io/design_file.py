"""Design files (schema version 2): load with clear errors, migrate, save atomically.

A design file is data: loading one only parses JSON and checks it; nothing in
it is ever executed.
"""
from __future__ import annotations

import copy
import difflib
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from designer import __version__
from designer.core.catalogue import all_types, is_known
from designer.core.analysis import topological_order
from designer.core.model import INPUT_ID, MAX_ID_LENGTH, Design, InputSpec, Layer, split_ref
from designer.core.training_config import check_training_dict
from designer.core.serialise import FORMAT, SCHEMA_VERSION, to_dict
from designer.io.files import (FileTooLargeError, NotRegularFileError, read_limited,
                               write_text_atomic)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DIMENSION = 16384

# Pure dict -> dict functions, keyed by the version they upgrade from.
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}
MAX_DEPTH = 64  # nesting of JSON containers; deeper is not a design

_LAYER_KEYS = {"id", "type", "params", "inputs", "position", "frozen"}
_DESIGN_KEYS = {"name", "input", "layers", "output", "training"}
_FILE_KEYS = {"format", "schema_version", "design", "app"}


class DesignFileError(ValueError):
    """A design file that cannot be read, with the place in the file named."""

    def __init__(self, message: str, where: str | None = None, path: str | None = None) -> None:
        self.where, self.path, self.detail = where, path, message
        prefix = f"{path}: " if path else ""
        super().__init__(prefix + (f"{where}: {message}" if where else message))


def _fail(where: str, message: str) -> DesignFileError:
    return DesignFileError(message, where)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):   # "1e999": JSON has no infinity, and a save could not write it
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def parse_text(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as e:
        raise DesignFileError(f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except (ValueError, RecursionError) as e:
        reason = "a number has thousands of digits" if "digits" in str(e) else str(e)
        raise DesignFileError(f"not valid JSON: {reason}") from None
    if not isinstance(data, dict):
        raise DesignFileError("the file must hold a JSON object, not "
                              f"{_json_type(data)}")
    if _depth(data) > MAX_DEPTH:
        raise DesignFileError(f"values are nested more than {MAX_DEPTH} levels deep; "
                              f"this is not a design")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DesignFileError("a string holds an invalid \\u escape (a lone surrogate)") from None
    return data


def _depth(value: Any) -> int:
    """Nesting depth of JSON containers, without recursion."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:   # only containers are pushed: a 10,000-layer file holds 100,000 values
        v, d = stack.pop()
        deepest = max(deepest, d)
        for x in (v.values() if isinstance(v, dict) else v):
            if isinstance(x, (dict, list)):
                stack.append((x, d + 1))
    return deepest


def _json_type(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null", int: "a number", float: "a number"}.get(type(v), "a value")


def register_migration(from_version: int) -> Callable[[Migration], Migration]:
    """Decorator: `fn(data) -> data` upgrades a file dict from `from_version` to a
    later version (it must set the new "schema_version")."""
    def register(fn: Migration) -> Migration:
        MIGRATIONS[from_version] = fn
        return fn
    return register


@register_migration(1)
def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds output ports ("id:port" inputs) and inputs of other ranks;
    a v1 file means the same in v2. A v1 layer id containing ':' still works:
    a reference that is a whole id is never read as "id:port"."""
    data["schema_version"] = 2
    return data


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("format") != FORMAT:
        raise _fail("format", f"this is not a CNN Designer file (\"format\" must be "
                              f"\"{FORMAT}\")")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail("schema_version", f"must be a whole number ≥ 1; got {version!r}")
    if version > SCHEMA_VERSION:
        raise _fail("schema_version", f"this file uses schema version {version}, written by a "
                                      f"newer CNN Designer; this version ({__version__}) reads "
                                      f"up to {SCHEMA_VERSION}: please update the app")
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise _fail("schema_version", f"schema version {version} is no longer supported "
                                          f"by this version ({__version__})")
        try:
            data = step(copy.deepcopy(data))
        except Exception as e:  # noqa: BLE001 - a migration that trips is a bad file
            raise _fail("schema_version", f"cannot upgrade from schema version {version}: "
                                          f"{e}") from None
        new = data.get("schema_version") if isinstance(data, dict) else None
        if not isinstance(new, int) or isinstance(new, bool) or new <= version:
            raise _fail("schema_version", f"upgrading from schema version {version} failed "
                                          f"(the migration did not advance the version)")
        version = new
    return data


def from_dict(data: dict[str, Any]) -> Design:
    if not isinstance(data, dict):
        raise DesignFileError(f"a design must be a JSON object, not {_json_type(data)}")
    data = migrate(data)
    d = data.get("design")
    if not isinstance(d, dict):
        raise _fail("design", f"must be an object; got {_json_type(d)}")
    name = d.get("name", "Untitled")
    if not isinstance(name, str):
        raise _fail("design.name", f"must be a string; got {_json_type(name)}")
    design = Design(name, _input_spec(d.get("input")))
    design.input_extra = _input_extra(d.get("input"))
    raw_layers = d.get("layers", [])
    if not isinstance(raw_layers, list):
        raise _fail("design.layers", f"must be a list; got {_json_type(raw_layers)}")
    layers: list[Layer] = []
    for n, raw in enumerate(raw_layers):
        previous = layers[-1].id if layers else INPUT_ID
        layers.append(_layer(raw, f"design.layers[{n}]", previous))
    _check_references(layers)
    design.set_layers(layers)
    _check_cycles(design)
    out = d.get("output")
    if out is not None:
        if not isinstance(out, str) or out not in design:
            raise _fail("design.output", f"{out!r} is not a layer id")
        design.output = out
    training = d.get("training")
    if training is not None and not isinstance(training, dict):
        raise _fail("design.training", "must be an object")
    if training is not None:
        out_of_range = check_training_dict(training)
        if out_of_range is not None:
            raise _fail(f"design.training.{out_of_range[0]}", out_of_range[1])
    design.training = training
    app = data.get("app")
    design.app = app if isinstance(app, dict) else None
    design.extra = {k: v for k, v in d.items() if k not in _DESIGN_KEYS}
    # an "app" that is not an object is kept as it was, like any unknown value
    design.file_extra = {k: v for k, v in data.items()
                         if k not in _FILE_KEYS or (k == "app" and design.app is None)}
    return design


def _input_spec(raw: Any) -> InputSpec:
    if raw is None:
        return InputSpec()
    if not isinstance(raw, dict):
        raise _fail("design.input", f"must be an object with channels and the sizes "
                                    f"(length; height and width; or depth, height and "
                                    f"width); got {_json_type(raw)}")
    if "length" in raw:
        for key in ("height", "width", "depth"):
            if key in raw:
                raise _fail(f"design.input.{key}",
                            f"a 1-D input (\"length\") has no {key}: give either length "
                            f"(a signal) or height and width (an image)")
        keys = ("channels", "length")
    elif "depth" in raw:
        keys = ("channels", "depth", "height", "width")
    else:
        keys = ("channels", "height", "width")
    values = {}
    for key in keys:
        v = raw.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_DIMENSION:
            raise _fail(f"design.input.{key}", f"must be a whole number from 1 to "
                                               f"{MAX_DIMENSION}; got {v!r}")
        values[key] = v
    return InputSpec(**values)


_INPUT_KEYS = ("channels", "length", "depth", "height", "width")


def _input_extra(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if k not in _INPUT_KEYS}


def _layer(raw: Any, where: str, previous: str) -> Layer:
    if not isinstance(raw, dict):
        raise _fail(where, f"a layer must be an object; got {_json_type(raw)}")
    lid = raw.get("id")
    if not isinstance(lid, str) or not lid:
        raise _fail(where, "the layer has no \"id\" (a non-empty string)")
    if len(lid) > MAX_ID_LENGTH or lid == INPUT_ID:
        raise _fail(f"{where}.id", f"{lid[:40]!r} is not allowed as an id "
                                   f"(at most {MAX_ID_LENGTH} characters, not \"input\")")
    where = f"{where} ('{lid}')"
    type_name = raw.get("type")
    if not isinstance(type_name, str):
        raise _fail(where, "the layer has no \"type\" (a string such as \"Conv2d\")")
    if not is_known(type_name):
        by_lower = {t.name.lower(): t.name for t in all_types()}
        close = [by_lower[m] for m in difflib.get_close_matches(type_name.lower(), by_lower, n=1)]
        hint = f": did you mean \"{close[0]}\"?" if close else ""
        raise _fail(f"{where}.type", f"unknown layer type \"{type_name}\"{hint}")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise _fail(f"{where}.params", f"must be an object; got {_json_type(params)}")
    inputs = raw.get("inputs", [previous])
    if (not isinstance(inputs, list) or not all(isinstance(s, str) for s in inputs)
            or len(set(inputs)) != len(inputs)):
        raise _fail(f"{where}.inputs", "must be a list of distinct layer ids")
    position = raw.get("position")
    if position is not None:
        if (not isinstance(position, list) or len(position) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                           and math.isfinite(x) and abs(x) < 1e7 for x in position)):
            raise _fail(f"{where}.position", "must be [x, y] numbers")
        position = (float(position[0]), float(position[1]))
    frozen = raw.get("frozen", False)
    if not isinstance(frozen, bool):
        raise _fail(f"{where}.frozen", "must be true or false")
    extra = {k: v for k, v in raw.items() if k not in _LAYER_KEYS}
    return Layer(lid, type_name, dict(params), list(inputs), position, frozen, extra)


def _check_references(layers: list[Layer]) -> None:
    ids: set[str] = set()
    for n, lay in enumerate(layers):
        if lay.id in ids:
            raise _fail(f"design.layers[{n}].id", f"the id '{lay.id}' is used twice")
        ids.add(lay.id)
    for n, lay in enumerate(layers):
        for ref in lay.inputs:
            src, _ = split_ref(ref, ids)
            if src != INPUT_ID and src not in ids:
                raise _fail(f"design.layers[{n}] ('{lay.id}').inputs",
                            f"'{ref}' is not a layer id (nor \"input\"), nor \"id:port\"")


def _check_cycles(design: Design) -> None:
    _, in_cycle = topological_order(design)
    if in_cycle:
        names = ", ".join(sorted(in_cycle)[:5])
        raise _fail("design.layers", f"the layers {names} form a cycle: a network must "
                                     f"flow one way")


def dumps(design: Design) -> str:
    return json.dumps(to_dict(design), indent=2, ensure_ascii=False) + "\n"


def loads(text: str) -> Design:
    return from_dict(parse_text(text))


def load(path: str | os.PathLike[str]) -> Design:
    p = Path(path)
    try:
        raw = read_limited(p, MAX_FILE_BYTES)
    except FileTooLargeError:
        raise DesignFileError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MB; "
                              f"it is not a design", path=str(p)) from None
    except FileNotFoundError:
        raise DesignFileError("no such file", path=str(p)) from None
    except NotRegularFileError as e:
        tail = "" if e.kind == "a folder" else "; nothing was read from it"
        raise DesignFileError(f"this is {e.kind}, not a design file{tail}",
                              path=str(p)) from None
    except IsADirectoryError:
        raise DesignFileError("this is a folder, not a design file", path=str(p)) from None
    except OSError as e:
        raise DesignFileError(f"cannot read the file: {e.strerror}", path=str(p)) from None
    except ValueError as e:  # e.g. a NUL character in the path
        raise DesignFileError(f"cannot read the file: {e}", path=str(p)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DesignFileError("not a text (UTF-8) file", path=str(p)) from None
    try:
        return loads(text)
    except DesignFileError as e:
        raise DesignFileError(e.detail, e.where, str(p)) from None


def save(design: Design, path: str | os.PathLike[str]) -> None:
    """Write atomically (designer.io.files): a temporary file in the same folder,
    fsync, rename; the file keeps its mode and a symbolic link its target."""
    design.app = {**(design.app or {}), "name": "CNN Designer", "version": __version__,
                  "saved": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_text_atomic(Path(path), dumps(design))
