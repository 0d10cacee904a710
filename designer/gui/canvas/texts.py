"""Bringing the blocks' text up to date after an analysis, a slice at a time.

A 10,000-layer design's first analysis changes every block (about 1 s of
work in all); done at once it would freeze the window. Up to SLICE blocks are
done at once; above that the blocks on screen go first and the rest follow in
slices of at most SLICE_MS, between which the window stays responsive.
"""
from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Iterable

from PySide6.QtCore import QObject, QRectF, Qt, QTimer

from designer.core.model import INPUT_ID
from designer.gui.canvas.block_item import BlockItem
from designer.gui.canvas.block_text import input_text, layer_text, text_key

if TYPE_CHECKING:
    from designer.gui.canvas.scene import DesignScene

SLICE = 1500       # blocks brought up to date at once
SLICE_MS = 30.0    # then per event-loop turn


class TextUpdater(QObject):
    def __init__(self, scene: "DesignScene") -> None:
        super().__init__(scene)
        self.scene = scene
        self.queue: dict[str, None] = {}   # block ids still to do, in order
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next_slice)

    def update(self, ids: Iterable[str] | None) -> None:
        """Bring `ids` (None: every block) up to date with the context's analysis."""
        blocks = self.scene.blocks
        todo = list(blocks) if ids is None else [INPUT_ID] + [i for i in ids if i in blocks]
        if len(todo) + len(self.queue) <= SLICE:
            self._do(list(self.queue) + todo)
            self.queue.clear()
            return
        self.queue.update(dict.fromkeys(todo))
        on_screen = [i for i in self._on_screen() if i in self.queue]
        self._do(on_screen)
        for lid in on_screen:
            self.queue.pop(lid, None)
        self._timer.start()

    def pending(self) -> int:
        return len(self.queue)

    def finish(self) -> None:
        """Do the rest now (export, tests)."""
        self._timer.stop()
        rest, self.queue = list(self.queue), {}
        self._do(rest)

    def _next_slice(self) -> None:
        until = time.perf_counter() + SLICE_MS / 1000
        while self.queue:
            done = list(itertools.islice(self.queue, 50))
            for lid in done:
                del self.queue[lid]
            self._do(done)
            if time.perf_counter() > until:
                break
        if self.queue:
            self.queue = dict(self.queue)   # drops the deleted slots iteration would skip
            self._timer.start()

    def _on_screen(self) -> list[str]:
        ids = []
        for view in self.scene.views():
            rect: QRectF = view.mapToScene(view.viewport().rect()).boundingRect()
            ids += [item.layer_id for item in
                    self.scene.items(rect, Qt.ItemSelectionMode.IntersectsItemBoundingRect)
                    if isinstance(item, BlockItem)]
        return ids

    def _do(self, ids: list[str]) -> None:
        """Only blocks whose text changed are repainted: a cheap key of what the
        text depends on skips the others."""
        scene = self.scene
        design, analysis = scene.context.design, scene.context.analysis
        ports_changed = False
        for lid in ids:
            item = scene.blocks.get(lid)
            if item is None:
                continue
            if lid == INPUT_ID:
                item.set_text(input_text(analysis))
            elif lid in design:
                layer, info = design.layer(lid), analysis.layers.get(lid)
                key = text_key(layer, info, analysis.output_id == lid)
                if key != item.text_key:
                    item.text_key = key
                    before = item.text.ports
                    item.set_text(layer_text(layer, info, analysis))
                    if item.text.ports != before:   # edges leave from other places now
                        ports_changed = True
                        scene.ports_moved(lid)
        if ports_changed:
            scene.schedule_flush()
