"""Automatic block placement: a small layered (Sugiyama-style) layout.

Pure functions over ids and inputs (no Qt). Rows are longest-path depths from
the top; an edge that skips rows gets invisible lane nodes so that a skip
connection runs beside the blocks it jumps over; each row is ordered by the
mean x of its parents and spread so that nothing overlaps, centred under its
parents. Positions are block centres.
"""
from __future__ import annotations

from dataclasses import dataclass

from designer.core.analysis import topological_order
from designer.core.model import INPUT_ID, Design

BLOCK_W = 190.0
BLOCK_H = 68.0
GAP_X = 40.0
ROW = BLOCK_H + 52.0
COL = BLOCK_W + 70.0   # left to right: the distance between columns
GAP_Y = 24.0           # left to right: between blocks of one column
LANE_W = 40.0   # width reserved for an edge passing a row


Position = tuple[float, float]


@dataclass
class _Node:
    key: str
    rank: int
    order: float            # tie-break among equal desired x (topological order)
    parents: list[str]
    width: float
    x: float = 0.0


def ranks(nodes: list[str], inputs: dict[str, list[str]]) -> dict[str, int]:
    """Longest-path depth of each node; `nodes` must be in topological order."""
    rank: dict[str, int] = {}
    for n in nodes:
        srcs = [s for s in inputs.get(n, []) if s in rank]
        rank[n] = 1 + max(rank[s] for s in srcs) if srcs else 0
    return rank


def _build_nodes(nodes: list[str], inputs: dict[str, list[str]],
                 size: float = BLOCK_W) -> dict[str, _Node]:
    rank = ranks(nodes, inputs)
    index = {n: i for i, n in enumerate(nodes)}
    out = {n: _Node(n, rank[n], float(index[n]), [], size) for n in nodes}
    for n in nodes:
        for src in inputs.get(n, []):
            if src not in rank or src in out[n].parents:
                continue
            prev = src
            for r in range(rank[src] + 1, rank[n]):  # lanes for rows the edge skips
                key = f"\0{src}\0{n}\0{r}"
                out[key] = _Node(key, r, index[n] - 0.5, [prev], LANE_W * size / BLOCK_W)
                prev = key
            out[n].parents.append(prev)
    return out


def _spread(row: list[_Node], desired: dict[str, float], gap: float = GAP_X) -> None:
    """Place a row left to right at its desired x without overlaps, then shift
    it so that its mean stays where the parents want it."""
    row.sort(key=lambda nd: (desired[nd.key], nd.order))
    prev: _Node | None = None
    for nd in row:
        nd.x = desired[nd.key]
        if prev is not None:
            nd.x = max(nd.x, prev.x + (prev.width + nd.width) / 2 + gap)
        prev = nd
    shift = sum(desired[nd.key] for nd in row) / len(row) - sum(nd.x for nd in row) / len(row)
    for nd in row:
        nd.x += shift


def placed_graph(nodes: list[str], inputs: dict[str, list[str]],
                 horizontal: bool = False) -> dict[str, _Node]:
    """Every node, lanes included, with its rank and its place across the flow, x
    (for layout_graph and the layout-quality benchmark)."""
    graph = _build_nodes(nodes, inputs, BLOCK_H if horizontal else BLOCK_W)
    rows: dict[int, list[_Node]] = {}
    for nd in graph.values():
        rows.setdefault(nd.rank, []).append(nd)
    for r in sorted(rows):
        row = rows[r]
        desired = {}
        for nd in row:
            xs = [graph[p].x for p in nd.parents]
            desired[nd.key] = sum(xs) / len(xs) if xs else 0.0
        _spread(row, desired, GAP_Y if horizontal else GAP_X)
    return graph


def layout_graph(nodes: list[str], inputs: dict[str, list[str]],
                 origin: Position = (0.0, 0.0), horizontal: bool = False) -> dict[str, Position]:
    """Centres for `nodes` (topological order); inputs outside `nodes` are
    ignored. Row 0 (column 0 left to right) is centred on origin."""
    if not nodes:
        return {}
    graph = placed_graph(nodes, inputs, horizontal)
    ox, oy = origin
    if horizontal:
        return {n: (ox + graph[n].rank * COL, oy + graph[n].x) for n in nodes}
    return {n: (ox + graph[n].x, oy + graph[n].rank * ROW) for n in nodes}


def design_layout(design: Design, origin: Position = (0.0, 0.0),
                  horizontal: bool = False) -> dict[str, Position]:
    """Centres for every layer and for the design input (key INPUT_ID)."""
    order, in_cycle = topological_order(design)
    nodes = [INPUT_ID] + order + [lid for lid in (lay.id for lay in design.layers)
                                  if lid in in_cycle]
    # ports ("pool1:indices") are drawn on their layer's block: lay out by layer id
    inputs = {lay.id: [s for s in dict.fromkeys(design.sources(lay.id)) if s != lay.id]
              for lay in design.layers}
    # layers caught in a cycle are placed below everything else, in list order
    cyclic = set(in_cycle)
    for lid in cyclic:
        inputs[lid] = [s for s in inputs[lid] if s not in cyclic]
    return layout_graph(nodes, inputs, origin, horizontal)


def subgraph_layout(root: str, new_ids: list[str], inputs: dict[str, list[str]],
                    root_pos: Position, horizontal: bool = False
                    ) -> tuple[dict[str, Position], int]:
    """Centres for freshly inserted layers hanging below `root` (a template),
    and how many rows they take."""
    nodes = [root] + new_ids
    local = {n: [s for s in inputs.get(n, []) if s in nodes] for n in new_ids}
    placed = layout_graph(nodes, local, root_pos, horizontal)
    depth = max(ranks(nodes, local).values())
    placed.pop(root)
    return placed, depth


def overlaps(a: Position, b: Position, margin: float = 0.0) -> bool:
    return abs(a[0] - b[0]) < BLOCK_W + margin and abs(a[1] - b[1]) < BLOCK_H + margin
