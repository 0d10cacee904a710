"""Block moves the scene shows late: a large edit moves thousands of blocks.

Inserting a layer in the middle of a 10,000-layer chain moves the 5,000 blocks
below it down a row. The model's positions change at once (one undo step), but
moving every item, and shifting its edges, on the GUI thread takes longer than
one frame. The first moves of a burst are shown at once (all of them for a
small edit); beyond LATE_ABOVE they wait here, and each flush shows the blocks
on screen (where they are or where they go) first and then the rest in flow
order, in slices of about SLICE_MS between which the window stays responsive.
Code that reads block places for an edit calls settle() first.
"""
from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt, QTimer

from designer.gui.canvas.layout import BLOCK_H, BLOCK_W

if TYPE_CHECKING:
    from designer.gui.canvas.scene import DesignScene

LATE_ABOVE = 100     # block moves shown at once between two flushes
SLICE_MS = 10.0      # of moves a slice: re-placing their edges after costs about as much


class LateMoves:
    def __init__(self, scene: "DesignScene", move: Callable[[str], None],
                 after: Callable[[], None]) -> None:
        self.scene = scene
        self._move = move          # shows one block where the model has it
        self._after = after        # re-places what depends on block places (edges)
        self._late: set[str] = set()
        self._order: deque[str] = deque()
        self._now = 0              # moves shown at once since the last flush
        self._timer = QTimer(scene)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)

    def moved(self, lid: str) -> None:
        """The model moved lid's block: show it now, or later in a burst."""
        if self._late or self._now >= LATE_ABOVE:
            if lid not in self._late:
                self._late.add(lid)
                self._order.append(lid)
        else:
            self._now += 1
            self._move(lid)

    def moved_many(self, ids: list[str]) -> None:
        """moved() for each of ids (one model event for thousands)."""
        room = 0 if self._late else max(LATE_ABOVE - self._now, 0)
        now, later = ids[:room], ids[room:]
        self._now += len(now)
        for lid in now:
            self._move(lid)
        if later:
            self._late.update(later)
            self._order.extend(later)   # (one already waiting is skipped when met again)

    def pending(self) -> int:
        return len(self._late)

    def discard(self, lid: str) -> None:
        self._late.discard(lid)

    def renamed(self, old: str, new: str) -> None:
        if old in self._late:
            self._late.discard(old)
            self._late.add(new)
            self._order.append(new)

    def clear(self) -> None:
        self._timer.stop()
        self._late.clear()
        self._order.clear()
        self._now = 0

    def flush(self) -> None:
        """At the scene's flush: the blocks on screen now, the rest in slices."""
        self._now = 0
        if not self._late:
            return
        for lid in self._on_screen():
            self._late.discard(lid)
            self._move(lid)
        if self._late:   # the rest in slices, each its own turn of the event loop
            self._timer.start()

    def settle(self) -> None:
        """Show every waiting move now."""
        self._now = 0
        if self._late:
            self._timer.stop()
            self._apply(None)
            self._after()

    def _slice(self) -> None:
        self._apply(SLICE_MS)
        self._after()

    def _apply(self, budget_ms: float | None) -> None:
        scene, order = self.scene, self._order
        design = scene.context.design
        until = time.perf_counter() + (budget_ms or 0.0) / 1000
        count = 0
        while order:
            lid = order.popleft()
            if lid not in self._late:
                continue
            self._late.discard(lid)
            if lid in design and lid in scene.blocks:
                self._move(lid)
            count += 1
            if budget_ms is not None and count % 50 == 0 and time.perf_counter() > until:
                break
        if not self._late:
            order.clear()
        elif budget_ms is not None:
            self._timer.start()

    def _on_screen(self) -> list[str]:
        """Waiting blocks inside a view's visible area (a block margin around
        it), where they are or where they go."""
        scene = self.scene
        areas = [view.mapToScene(view.viewport().rect()).boundingRect()
                 .adjusted(-BLOCK_W, -BLOCK_H, BLOCK_W, BLOCK_H)
                 for view in scene.views() if view.isVisible()]
        found: dict[str, None] = {}
        late, design = self._late, scene.context.design
        for area in areas:
            for item in scene.items(area, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
                lid = getattr(item, "layer_id", None)
                if lid in late and lid in design:
                    found[lid] = None
            left, right, top, bottom = area.left(), area.right(), area.top(), area.bottom()
            for lay in design.layers:   # where they go: a plain walk, no call per layer
                pos = lay.position
                if pos is not None and left <= pos[0] <= right and top <= pos[1] <= bottom \
                        and lay.id in late:
                    found[lay.id] = None
        return [lid for lid in found if lid in scene.blocks]
