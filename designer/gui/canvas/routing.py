"""Which canvas edges need routing again, and routing them.

Routing every edge takes about half a second for a 10,000-layer design, so
after an edit only the edges that can have changed are routed again: those of
the blocks that were added, moved or re-wired, and those passing where a block
appeared or left (they may detour differently now). An edge's route only
depends on the blocks within its span along the flow, so those are its only
obstacles (the same result as offering every block, see edge_item.route).
"""
from __future__ import annotations

import bisect
import time
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer

from designer.gui.canvas.block_item import PORT_R, BlockItem
from designer.gui.canvas.edge_item import EdgeItem, flow_route
from designer.gui.canvas.layout import BLOCK_H, BLOCK_W
from designer.gui.lifetimes import release_later

if TYPE_CHECKING:
    from designer.gui.canvas.scene import DesignScene

Key = tuple[str, str]
FULL_ABOVE = 0.2   # more dirty blocks than this share of all: route everything
PROGRESSIVE = 3000  # more edges than this: routed in slices, those on screen first
SLICE_MS = 30.0


class EdgeRouter:
    def __init__(self, scene: "DesignScene") -> None:
        self.scene = scene
        self.of: dict[str, set[Key]] = {}     # block id -> keys of the edges at it
        self.dirty: set[str] | None = set()   # blocks whose edges are routed again; None: all
        self.places: list[QRectF] = []        # where blocks appeared or left
        self.moved: dict[str, QPointF] = {}   # blocks only moved, by how much
        self.rewired: set[str] = set()        # blocks marked for another reason
        self.queue: set[Key] = set()          # edges still to route (a large design)
        self._order: deque[Key] = deque()     # the queue's keys in order (some done)
        self._sorted: tuple[list[tuple[QRectF, str]], list[float]] | None = None
        self._timer = QTimer(scene)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next_slice)

    # --- bookkeeping -----------------------------------------------------
    def added(self, key: Key, edge: EdgeItem) -> None:
        self.of.setdefault(edge.source, set()).add(key)
        self.of.setdefault(edge.dst, set()).add(key)

    def removed(self, key: Key, edge: EdgeItem) -> None:
        for lid in (edge.source, edge.dst):
            keys = self.of.get(lid)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.of[lid]

    def clear(self) -> None:
        self.of.clear()
        self._drop_sorted()
        self.queue.clear()
        self._order.clear()
        self.dirty, self.places, self.moved, self.rewired = None, [], {}, set()

    def _drop_sorted(self) -> None:
        if self._sorted is not None:
            # freeing 10,000 blocks' rects takes ~12 ms: not inside an edit's step
            release_later(self._sorted)
            self._sorted = None

    def keys_at(self, lid: str) -> list[Key]:
        return list(self.of.get(lid, ()))

    def mark(self, lid: str | None = None, *places: QRectF) -> None:
        """lid's edges, and those passing `places`, are routed at the next flush."""
        self._drop_sorted()   # blocks may have moved
        if self.dirty is not None and lid is not None:
            self.dirty.add(lid)
            self.rewired.add(lid)
        if self.dirty is not None:
            self.places.extend(places)

    def mark_move(self, item: BlockItem, before: QPointF) -> None:
        """item moved from `before`: an edge whose two blocks moved alike (blocks
        below an insertion make room) keeps its route, shifted."""
        self._drop_sorted()
        if self.dirty is None:
            return
        after = item.pos()
        self.dirty.add(item.layer_id)
        self.places += [item.scene_rect().translated(before - after), item.scene_rect()]
        self.moved[item.layer_id] = self.moved.get(item.layer_id, QPointF()) + after - before

    def mark_all(self) -> None:
        self.dirty, self.places, self.moved, self.rewired = None, [], {}, set()

    # --- routing ---------------------------------------------------------
    def route_pending(self) -> bool:
        """Route what was marked; True when everything was routed."""
        scene = self.scene
        dirty, places, moved, rewired = self.dirty, self.places, self.moved, self.rewired
        self.dirty, self.places, self.moved, self.rewired = set(), [], {}, set()
        if dirty is None:
            if len(scene.edges) > PROGRESSIVE:   # a usable window first
                self.queue = set(scene.edges)
                self._order = deque(scene.edges)
                self._timer.start()
                return False
            self.queue.clear()
            self._order.clear()
            self._route_all()
            return True
        keys: set[Key] = set()
        for lid in dirty:
            keys.update(self.of.get(lid, ()))
        if len(places) > 64:   # many blocks moved: one query over where they are
            union = QRectF(places[0])
            for rect in places:
                union = union.united(rect)
            places = [union]
        for rect in places:
            for item in scene.items(rect, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
                if isinstance(item, EdgeItem):
                    keys.add((item.src, item.dst))
        todo = []
        for key in keys:
            edge = scene.edges.get(key)
            if edge is None or edge.source not in scene.blocks or edge.dst not in scene.blocks:
                continue
            shift = moved.get(edge.source)
            if shift is not None and shift == moved.get(edge.dst) and \
                    edge.source not in rewired and edge.dst not in rewired:
                edge.shift(shift)
            else:
                todo.append(edge)
        if len(todo) > FULL_ABOVE * max(len(scene.edges), 50):
            self._route_all()
            return True
        self._drop_sorted()
        for edge in todo:
            self.queue.discard((edge.src, edge.dst))
            self.route(edge, self._obstacles_near(edge) if len(todo) < 50
                       else self._obstacles_sorted(edge))
        return False

    def pending(self) -> int:
        return len(self.queue)

    def finish(self) -> None:
        """Route what is still queued now (export)."""
        self._timer.stop()
        while self._order:
            self._route_queued(self._order.popleft())

    def _route_queued(self, key: Key) -> None:
        if key not in self.queue:
            return
        self.queue.discard(key)
        scene = self.scene
        edge = scene.edges.get(key)
        if edge is not None and edge.source in scene.blocks and edge.dst in scene.blocks:
            self.route(edge, self._obstacles_sorted(edge))

    def _next_slice(self) -> None:
        scene = self.scene
        until = time.perf_counter() + SLICE_MS / 1000
        for view in scene.views():   # the edges on screen first
            rect = view.mapToScene(view.viewport().rect()).boundingRect()
            for item in scene.items(rect, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
                if isinstance(item, BlockItem):
                    for key in self.of.get(item.layer_id, ()):
                        if key in self.queue:
                            self._route_queued(key)
        count = 0
        while self._order and self.queue:
            self._route_queued(self._order.popleft())
            count += 1
            if count % 50 == 0 and time.perf_counter() > until:
                break
        if self.queue:
            self._timer.start()
        else:
            self._order.clear()

    def _span(self, edge: EdgeItem) -> tuple[float, float]:
        """The centres' span along the flow, widened by a block: the blocks whose
        leading edge lies in it are the only ones the route can meet."""
        src, dst = self.scene.blocks[edge.source], self.scene.blocks[edge.dst]
        a, b = self.scene.along(src), self.scene.along(dst)
        size = BLOCK_W if self.scene.horizontal else BLOCK_H
        return min(a, b) - size, max(a, b)

    def _lead(self, rect: QRectF) -> float:
        return rect.left() if self.scene.horizontal else rect.top()

    def _route_all(self) -> None:
        self._drop_sorted()
        for edge in self.scene.edges.values():
            self.route(edge, self._obstacles_sorted(edge))

    def _obstacles_sorted(self, edge: EdgeItem) -> list[QRectF]:
        """_obstacles_near by bisection in the blocks sorted along the flow (made
        once for many edges; a query of the scene's index after each routed edge
        costs far more, as every route changes the index)."""
        if self._sorted is None:
            rects = sorted(((item.scene_rect(), lid) for lid, item in
                            self.scene.blocks.items()), key=lambda pair: self._lead(pair[0]))
            self._sorted = rects, [self._lead(r) for r, _ in rects]
        rects, leads = self._sorted
        low, high = self._span(edge)
        lo, hi = bisect.bisect_right(leads, low), bisect.bisect_left(leads, high)
        return [r for r, lid in rects[lo:hi] if lid not in (edge.source, edge.dst)]

    def _obstacles_near(self, edge: EdgeItem) -> list[QRectF]:
        scene = self.scene
        low, high = self._span(edge)
        area = scene.sceneRect()   # flush() keeps every block inside it
        band = QRectF(low, area.top(), high - low + BLOCK_W, area.height()) \
            if scene.horizontal else QRectF(area.left(), low, area.width(),
                                             high - low + BLOCK_H)
        found = []
        for item in scene.items(band, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
            if isinstance(item, BlockItem) and item.layer_id not in (edge.source, edge.dst):
                rect = item.scene_rect()
                if low < self._lead(rect) < high:   # as _route_all's bisection
                    found.append(rect)
        return found

    def route(self, edge: EdgeItem, obstacles: list[QRectF]) -> None:
        start, end = self.endpoints(edge)
        edge.set_route(flow_route(start, end, obstacles, self.scene.horizontal))

    def endpoints(self, edge: EdgeItem) -> tuple[QPointF, QPointF]:
        scene = self.scene
        src, dst = scene.blocks[edge.source], scene.blocks[edge.dst]
        design = scene.context.design
        inputs = design.layer(edge.dst).inputs if edge.dst in design else []
        index = inputs.index(edge.src) if edge.src in inputs else 0
        end = dst.input_port(index, len(inputs))
        port = min(edge.port, len(src.text.ports) - 1)
        if scene.horizontal:
            return src.output_port(port) + QPointF(PORT_R, 0), end - QPointF(PORT_R - 1, 0)
        return src.output_port(port) + QPointF(0, PORT_R), end - QPointF(0, PORT_R - 1)
