"""Layered layout quality: the hand-written layout (designer/gui/canvas/layout.py)
against grandalf's Sugiyama layout, on GoogLeNet-, ResNet- and DenseNet-shaped
graphs (hundreds of merges) and long chains.

For each graph it prints the edge crossings (counted the standard way: between
consecutive ranks, every edge drawn through its lane / dummy positions) and the
layout time. Run:  PYTHONPATH=. python tests/benchmarks/layout_quality.py [--quick | --full]
Pure Python, no Qt; grandalf is optional (`pip install grandalf`).
"""
from __future__ import annotations

import random
import sys
import time
from collections import defaultdict

from designer.gui.canvas.layout import BLOCK_H, BLOCK_W, placed_graph

Graph = tuple[list[str], dict[str, list[str]]]   # nodes in topological order, inputs


def _chain(nodes: list[str], inputs: dict[str, list[str]], prev: str, names: list[str]) -> str:
    for n in names:
        nodes.append(n)
        inputs[n] = [prev]
        prev = n
    return prev


def googlenet() -> Graph:
    """Stem, then 9 inception modules of four branches each, joined by a concat."""
    nodes, inputs = ["input"], {}
    prev = _chain(nodes, inputs, "input", ["conv1", "relu1", "pool1", "conv2", "relu2",
                                          "conv3", "relu3", "pool2"])
    for m in range(9):
        ends = []
        for b, depth in enumerate((2, 4, 4, 3)):
            ends.append(_chain(nodes, inputs, prev, [f"i{m}b{b}l{k}" for k in range(depth)]))
        nodes.append(f"i{m}cat")
        inputs[f"i{m}cat"] = ends
        prev = f"i{m}cat"
        if m in (1, 6):
            prev = _chain(nodes, inputs, prev, [f"pool_{m}"])
    _chain(nodes, inputs, prev, ["gap", "flat", "fc"])
    return nodes, inputs


def resnet(blocks: tuple[int, ...] = (3, 4, 6, 3)) -> Graph:
    """Bottleneck blocks (conv-bn-relu x3) with an Add skip; a projection first."""
    nodes, inputs = ["input"], {}
    prev = _chain(nodes, inputs, "input", ["conv1", "bn1", "relu1", "pool1"])
    for s, count in enumerate(blocks):
        for b in range(count):
            tag = f"s{s}b{b}"
            body = _chain(nodes, inputs, prev, [f"{tag}_{k}" for k in range(8)])
            skip = _chain(nodes, inputs, prev, [f"{tag}_proj", f"{tag}_pbn"]) if b == 0 else prev
            nodes.append(f"{tag}_add")
            inputs[f"{tag}_add"] = [body, skip]
            prev = _chain(nodes, inputs, f"{tag}_add", [f"{tag}_out"])
    _chain(nodes, inputs, prev, ["gap", "flat", "fc"])
    return nodes, inputs


def densenet(blocks: tuple[int, ...] = (6, 12, 24, 16)) -> Graph:
    """Each dense layer reads the concat of every earlier feature map of its block."""
    nodes, inputs = ["input"], {}
    prev = _chain(nodes, inputs, "input", ["conv0", "bn0", "relu0", "pool0"])
    for s, count in enumerate(blocks):
        features = [prev]
        for k in range(count):
            tag = f"d{s}l{k}"
            if len(features) > 1:
                nodes.append(f"{tag}_cat")
                inputs[f"{tag}_cat"] = list(features)
                src = f"{tag}_cat"
            else:
                src = features[0]
            features.append(_chain(nodes, inputs, src, [f"{tag}_{j}" for j in range(6)]))
        nodes.append(f"d{s}_cat")
        inputs[f"d{s}_cat"] = list(features)
        prev = _chain(nodes, inputs, f"d{s}_cat", [f"t{s}_bn", f"t{s}_conv", f"t{s}_pool"])
    _chain(nodes, inputs, prev, ["gap", "flat", "fc"])
    return nodes, inputs


def random_dag(n: int = 300, merges: int = 200, seed: int = 0) -> Graph:
    """A chain with `merges` extra short skip edges (Add-like joins)."""
    rng = random.Random(seed)
    nodes = ["input"] + [f"n{i}" for i in range(n)]
    inputs = {nodes[i]: [nodes[i - 1]] for i in range(1, len(nodes))}
    for _ in range(merges):
        j = rng.randrange(3, len(nodes))
        i = rng.randrange(max(1, j - 8), j - 1)
        if nodes[i] not in inputs[nodes[j]]:
            inputs[nodes[j]].append(nodes[i])
    return nodes, inputs


def chain(n: int) -> Graph:
    nodes = ["input"] + [f"n{i}" for i in range(n)]
    return nodes, {nodes[i]: [nodes[i - 1]] for i in range(1, len(nodes))}


# --- the two layouts, as edges drawn through (rank, x) points ------------------------

Paths = list[list[tuple[int, float]]]


def hand_written(nodes: list[str], inputs: dict[str, list[str]]) -> Paths:
    graph = placed_graph(nodes, inputs)
    paths: Paths = []
    for dst in nodes:
        for parent in graph[dst].parents:
            path = [(graph[dst].rank, graph[dst].x)]
            key = parent
            while key.startswith("\0"):           # lanes of a long edge
                path.append((graph[key].rank, graph[key].x))
                key = graph[key].parents[0]
            path.append((graph[key].rank, graph[key].x))
            paths.append(path[::-1])
    return paths


def sugiyama(nodes: list[str], inputs: dict[str, list[str]]) -> Paths:
    from grandalf.graphs import Edge, Graph as GGraph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class View:
        def __init__(self, w: float = BLOCK_W, h: float = BLOCK_H) -> None:
            self.w, self.h, self.xy = w, h, (0.0, 0.0)

        def setpath(self, pts: list) -> None:
            self.pts = pts

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * len(nodes) + 1000))
    vertices = {n: Vertex(n) for n in nodes}
    for v in vertices.values():
        v.view = View()
    edges = []
    for dst in nodes:
        for src in inputs.get(dst, []):
            e = Edge(vertices[src], vertices[dst])
            e.view = View()
            edges.append(e)
    graph = GGraph(list(vertices.values()), edges)
    paths: Paths = []
    for comp in graph.C:
        layout = SugiyamaLayout(comp)
        layout.xspace, layout.yspace = 40, 52
        layout.init_all()
        layout.draw(2)
        for e in comp.sE:
            src, dst = e.v
            r0, r1 = layout.grx[src].rank, layout.grx[dst].rank
            path = [(r0, src.view.xy[0])]
            if e in layout.ctrls:
                ctrl = layout.ctrls[e]
                path += [(r, ctrl[r].view.xy[0]) for r in range(r0 + 1, r1)]
            path.append((r1, dst.view.xy[0]))
            paths.append(path)
    return paths


def crossings(paths: Paths) -> int:
    """Pairs of edge segments between the same two ranks whose order swaps."""
    gaps: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for path in paths:
        for (r0, x0), (r1, x1) in zip(path, path[1:]):
            gaps[min(r0, r1)].append((x0, x1) if r0 < r1 else (x1, x0))
    total = 0
    for segs in gaps.values():
        segs.sort()
        for i, (a0, a1) in enumerate(segs):
            for b0, b1 in segs[i + 1:]:
                if (b0 - a0) * (b1 - a1) < 0:
                    total += 1
    return total


def measure(name: str, graph: Graph, with_grandalf: bool) -> None:
    nodes, inputs = graph
    merges = sum(len(v) > 1 for v in inputs.values())
    row = [f"{name:<16} {len(nodes):>6} nodes {merges:>4} merges"]
    for label, fn in (("hand-written", hand_written), ("grandalf", sugiyama)):
        if label == "grandalf" and not with_grandalf:
            row.append(f"{label}: skipped")
            continue
        start = time.perf_counter()
        try:
            paths = fn(nodes, inputs)
        except RecursionError:   # grandalf's graph search recurses once per node
            row.append(f"{label}: failed (recursion too deep)")
            continue
        seconds = time.perf_counter() - start
        row.append(f"{label}: {crossings(paths):>6} crossings {seconds * 1000:>8.0f} ms")
    print("  |  ".join(row), flush=True)


def main(argv: list[str]) -> int:
    try:
        import grandalf  # noqa: F401
        have = True
    except ImportError:
        have = False
        print("grandalf is not installed: hand-written layout only")
    graphs = [("googlenet", googlenet()), ("resnet50", resnet()),
              ("densenet121", densenet()), ("random 300/200", random_dag())]
    if "--quick" not in argv:
        graphs.append(("resnet152", resnet((3, 8, 36, 3))))
    if "--full" in argv:   # grandalf takes many minutes on this one
        graphs.append(("densenet201", densenet((6, 12, 48, 32))))
    for name, graph in graphs:
        measure(name, graph, have)
    measure("chain 2000", chain(2000), have)
    start = time.perf_counter()
    placed_graph(*chain(10_000))
    print(f"chain 10000: hand-written {1000 * (time.perf_counter() - start):.0f} ms "
          "(grandalf not run: minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
