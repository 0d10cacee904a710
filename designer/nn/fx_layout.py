"""Positions for an imported graph: rows by longest path from the input,
blocks in a row side by side in order, each row centred. Pure Python (the
canvas has its own, finer layout under View > Auto layout)."""
from __future__ import annotations

from typing import Any

from designer.core.model import INPUT_ID

COLUMN = 230.0
ROW = 120.0


def layout(layers: list[dict[str, Any]]) -> None:
    """Set "position" on each layer dict (inputs may name ports, "id:port")."""
    rank: dict[str, int] = {INPUT_ID: 0}
    rows: dict[int, list[dict[str, Any]]] = {}
    for entry in layers:
        r = 1 + max((rank.get(src.split(":")[0], 0) for src in entry.get("inputs", [])),
                    default=0)
        rank[entry["id"]] = r
        rows.setdefault(r, []).append(entry)
    for r, row in rows.items():
        left = -(len(row) - 1) * COLUMN / 2
        for n, entry in enumerate(row):
            entry["position"] = [left + n * COLUMN, r * ROW]
