"""A design as the JSON object of a schema-v2 design file (docs/file-format.md).

Writing is pure data and lives in core so that export can embed a design's
JSON; reading (validation, migration, files) is designer.io's job.
"""
from __future__ import annotations

import math
from typing import Any

from designer.core.model import INPUT_ID, Design

FORMAT = "cnn-designer"
SCHEMA_VERSION = 2  # 2: output ports ("id:port" inputs); v1 files migrate unchanged


def to_dict(design: Design) -> dict[str, Any]:
    layers = []
    previous = INPUT_ID
    for lay in design.layers:
        entry: dict[str, Any] = {"id": lay.id, "type": lay.type}
        if lay.params:
            entry["params"] = {k: _json_value(v) for k, v in lay.params.items()}
        if lay.inputs != [previous]:
            entry["inputs"] = list(lay.inputs)
        if lay.position is not None and all(math.isfinite(x) for x in lay.position):
            entry["position"] = [lay.position[0], lay.position[1]]
        if lay.frozen:
            entry["frozen"] = True
        entry.update(lay.extra)
        layers.append(entry)
        previous = lay.id
    d: dict[str, Any] = {"name": design.name,
                         "input": {"channels": design.input.channels,
                                   **dict(zip(design.input.keys, design.input.spatial)),
                                   **getattr(design, "input_extra", {})},
                         "layers": layers}
    if design.output is not None:
        d["output"] = design.output
    if design.training is not None:
        d["training"] = design.training
    d.update(design.extra)
    out: dict[str, Any] = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "design": d}
    if design.app is not None:
        out["app"] = design.app
    out.update(design.file_extra)
    return out


def _json_value(v: Any) -> Any:
    """A parameter value as standard JSON. Values typed into the editor may be
    anything; NaN/infinity (not JSON) and other non-JSON values are written as
    strings, so the file still loads and the analysis names the bad value."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if v is None or isinstance(v, (str, int, float)):
        return v
    return repr(v)
