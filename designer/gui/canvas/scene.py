"""The canvas scene: mirrors the design model into block and edge items.

Data flows one way (DESIGN.md §2, §8): a gesture becomes an undo command, the
command changes the model, the model's event (relayed by the context) updates
the items here through the id -> item maps. Nothing here edits a Layer.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPainterPath, QPen, QUndoStack
from PySide6.QtWidgets import (QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent,
                               QGraphicsSimpleTextItem)

from designer.core.analysis import Analysis
from designer.core.catalogue import get_type, is_known
from designer.core.model import INPUT_ID, DesignError, Event, Layer, make_ref
from designer.gui.canvas.block_item import PORT_R, BlockItem
from designer.gui.canvas.block_text import BlockText, input_text, layer_text
from designer.gui.canvas.edge_item import EdgeItem, flow_curve
from designer.gui.canvas.late_moves import LateMoves
from designer.gui.canvas.layout import (BLOCK_H, BLOCK_W, COL, GAP_X, ROW, Position,
                                        design_layout, overlaps)
from designer.gui.canvas.routing import EdgeRouter
from designer.gui.canvas.texts import TextUpdater
from designer.gui.commands import MoveLayersCommand, SetInputsCommand, connect_command
from designer.gui.context import DesignContext

STRUCTURAL = {"layer_added", "layer_removed", "edge_added", "edge_removed", "layer_renamed",
              "reset"}


GRID = 10.0
HINT = "Drag layers or blocks here from the palette"


def snap(x: float, y: float) -> Position:
    return (round(x / GRID) * GRID, round(y / GRID) * GRID)


class DesignScene(QGraphicsScene):
    def __init__(self, context: DesignContext, undo_stack: QUndoStack,
                 status: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.context = context
        self.undo_stack = undo_stack
        self.status = status or (lambda message: None)
        self.blocks: dict[str, BlockItem] = {}
        self.edges: dict[tuple[str, str], EdgeItem] = {}
        self.router = EdgeRouter(self)
        self.texts = TextUpdater(self)
        self.exporting = False
        self.horizontal = False        # left-to-right flow (set_horizontal)
        self.autoplace = True          # off while the canvas pushes commands with positions
        self._pending_place: list[str] = []
        self._syncing_selection = False
        self._press_positions: dict[str, QPointF] = {}
        self._connect_from: BlockItem | None = None
        self._connect_port = 0   # the output port a connection is dragged from
        self._connect_line: QGraphicsPathItem | None = None
        self._connect_target: BlockItem | None = None
        self._reroute_timer = QTimer(self)
        self._reroute_timer.setSingleShot(True)
        self._reroute_timer.setInterval(0)
        self._reroute_timer.timeout.connect(self.flush)
        self.late = LateMoves(self, self._move_block, self._geometry)
        self._placing = False
        self.setBackgroundBrush(QColor("#f6f7f9"))
        self._hint = QGraphicsSimpleTextItem(HINT)
        self._hint.setBrush(QColor("#8a909c"))
        self._hint.setZValue(-1.0)
        self.addItem(self._hint)
        context.model_event.connect(self._on_model_event)
        context.move_listeners.append(self._on_model_event)
        context.analysis_changed.connect(self._on_analysis)
        context.selection_changed.connect(self._on_context_selection)
        # declared slots (@Slot), not dynamic ones: a dynamic slot looked up while
        # the scene is torn down printed "Slot 'DesignScene::' not found"
        self.selectionChanged.connect(self._on_scene_selection)
        self.rebuild()
        self._place_pending()

    # --- building ------------------------------------------------------
    def rebuild(self) -> None:
        """Drop every item and mirror the whole design again (load, reset)."""
        self._syncing_selection = True
        for item in list(self.blocks.values()) + list(self.edges.values()):
            self.removeItem(item)
        self._syncing_selection = False
        self.blocks.clear()
        self.edges.clear()
        self.late.clear()
        self.router.clear()   # flush() routes every edge
        design, analysis = self.context.design, self.context.analysis
        missing = [lay.id for lay in design.layers if lay.position is None]
        auto = design_layout(design, horizontal=self.horizontal) \
            if len(missing) == len(design.layers) else {}
        self.blocks[INPUT_ID] = self._new_block(INPUT_ID, input_text(analysis), True)
        self.blocks[INPUT_ID].setPos(*auto.get(INPUT_ID, (0.0, 0.0)))
        for layer in design.layers:
            self._add_block(layer.id, auto.get(layer.id))
        for src, dst in design.edges():
            self._add_edge(src, dst, route_now=False)   # flush() routes them all
        if self.context.selected_id in self.blocks:
            self._on_context_selection(self.context.selected_id)
        self.flush()

    def set_horizontal(self, on: bool) -> None:
        """Flow left to right (ports left and right) or top to bottom; the blocks
        stay where they are (auto layout re-places them for the new direction)."""
        self.horizontal = on
        for item in self.blocks.values():
            item.set_horizontal(on)
        self.router.mark_all()
        self.flush()

    def ahead(self, x: float, y: float, rows: float = 1.0) -> Position:
        """`rows` layout rows further along the flow (below, or to the right)."""
        return (x + rows * COL, y) if self.horizontal else (x, y + rows * ROW)

    def along(self, item: BlockItem) -> float:
        """How far along the flow a block is (its y, or its x left to right)."""
        return item.x() if self.horizontal else item.y()

    def _new_block(self, layer_id: str, text: BlockText, is_input: bool = False) -> BlockItem:
        item = BlockItem(layer_id, text, is_input)
        item.set_horizontal(self.horizontal)
        self.addItem(item)
        return item

    def _add_block(self, layer_id: str, placed: Position | None = None) -> BlockItem:
        design, analysis = self.context.design, self.context.analysis
        layer = design.layer(layer_id)
        item = self._new_block(layer_id, layer_text(layer, analysis.layers.get(layer_id),
                                                    analysis))
        self.blocks[layer_id] = item
        if layer.position is not None:
            item.setPos(*layer.position)
        elif placed is not None:
            item.setPos(*placed)
            self._pending_place.append(layer_id)
        else:
            item.setPos(*self.free_spot_below([design.source_of(s) for s in layer.inputs]))
            self._pending_place.append(layer_id)
        return item

    def _add_edge(self, src: str, dst: str, route_now: bool = True) -> None:
        source = self.context.design.source_of(src)
        if (src, dst) in self.edges or source not in self.blocks or dst not in self.blocks:
            return
        edge = EdgeItem(src, dst, source, self._port_index(src))
        self.addItem(edge)
        self.edges[(src, dst)] = edge
        self.router.added((src, dst), edge)
        if route_now:
            self.router.route(edge, [])
            self.router.mark(dst)

    def _port_index(self, ref: str) -> int:
        """The output port a reference leaves from (0 when not known yet)."""
        design = self.context.design
        if ref in design or ref == INPUT_ID:   # a bare id: port 0 (split_ref's first case)
            return 0
        source, port = design.source_of(ref), design.port_of(ref)
        if port is None:
            return 0
        if port.isascii() and port.isdigit():
            return int(port)
        names: tuple[str, ...] = ("out",)
        if source in design:
            info = self.context.analysis.layers.get(source)
            layer = design.layer(source)
            names = tuple(info.port_names) if info is not None and info.port_names \
                else get_type(layer.type).port_names(layer.params) if is_known(layer.type) \
                else ("out",)
        return names.index(port) if port in names else 0

    def _remove_edge(self, key: tuple[str, str]) -> None:
        edge = self.edges.pop(key, None)
        if edge is not None:
            self.router.removed(key, edge)
            self.router.mark(edge.dst)   # its other inputs' ports move
            self.removeItem(edge)

    def free_spot_below(self, inputs: list[str]) -> Position:
        """A free place for a new block: under its first input, else right of all."""
        self.settle_moves()
        sources = [self.blocks[s] for s in inputs if s in self.blocks]
        if sources and self.horizontal:
            x, y = max(s.x() for s in sources) + COL, sources[0].y()
        elif sources:
            x, y = sources[0].x(), max(s.y() for s in sources) + ROW
        else:
            rect = self.blocks_rect()
            x, y = rect.right() + GAP_X + BLOCK_W / 2, rect.top() + ROW / 2
        taken = [(b.x(), b.y()) for b in self.blocks.values()]
        while any(overlaps((x, y), t, 10.0) for t in taken):
            x += BLOCK_W + GAP_X
        return (x, y)

    def occupied(self, pos: Position, margin: float = 0.0) -> bool:
        """Whether a block centred at pos would overlap one (layout.overlaps),
        by the scene's index rather than a walk over every block."""
        x, y = pos
        w, h = BLOCK_W + margin, BLOCK_H + margin
        return any(isinstance(item, BlockItem) and overlaps(pos, (item.x(), item.y()), margin)
                   for item in self.items(QRectF(x - w, y - h, 2 * w, 2 * h),
                                          Qt.ItemSelectionMode.IntersectsItemBoundingRect))

    def consumers(self, lid: str) -> list[Layer]:
        """design.consumers(lid), in the design's order, from the edges at lid's
        block rather than a walk over every layer."""
        design = self.context.design
        found = {edge.dst for edge in (self.edges[key] for key in self.router.keys_at(lid))
                 if edge.source == lid and edge.dst in design}
        if len(found) > 1:
            return [lay for lay in design.layers if lay.id in found]
        return [design.layer(dst) for dst in found]

    def content_rect(self) -> QRectF:
        """What an export shows: blocks, edges and the empty-design hint."""
        rect = self.blocks_rect()
        for edge in self.edges.values():
            rect = rect.united(edge.sceneBoundingRect())
        if self._hint.isVisible():
            rect = rect.united(self._hint.sceneBoundingRect())
        return rect

    def blocks_rect(self) -> QRectF:
        """The union of the blocks' cards (all one size: from their centres)."""
        if not self.blocks:
            return QRectF()
        xs = [item.x() for item in self.blocks.values()]
        ys = [item.y() for item in self.blocks.values()]
        left, top = min(xs) - BLOCK_W / 2, min(ys) - BLOCK_H / 2
        return QRectF(left, top, max(xs) + BLOCK_W / 2 - left, max(ys) + BLOCK_H / 2 - top)

    # --- model events --------------------------------------------------
    @Slot(object)
    def _on_model_event(self, event: Event) -> None:
        kind, lid, other = event.kind, event.layer_id, event.other
        if kind == "layer_moved":   # first: a large edit sends thousands
            if self._placing:
                return
            if lid is not None and lid in self.blocks:
                self.late.moved(lid)   # at once, or in slices for thousands (late_moves.py)
            if not self._reroute_timer.isActive():   # (not re-armed 5,000 times)
                self._reroute_timer.start()
            return
        if kind == "layers_moved":   # one event for many (MoveLayersCommand)
            blocks = self.blocks
            self.late.moved_many([lid for lid in event.ids if lid in blocks])
            if event.ids:
                self._reroute_timer.start()
            return
        if kind == "reset":
            self.rebuild()
        elif kind == "layer_added" and lid is not None:
            self._add_block(lid)
            for src in self.context.design.layer(lid).inputs:
                self._add_edge(src, lid)
            self.router.mark(lid, self.blocks[lid].scene_rect())
        elif kind == "layer_removed" and lid is not None:
            for key in self.router.keys_at(lid):
                self._remove_edge(key)
            item = self.blocks.pop(lid, None)
            self.late.discard(lid)
            if item is not None:
                self.router.mark(None, item.scene_rect())
                self.removeItem(item)
        elif kind == "edge_added" and lid is not None and other is not None:
            self._add_edge(other, lid)
        elif kind == "edge_removed" and lid is not None and other is not None:
            self._remove_edge((other, lid))
        elif kind == "layer_renamed" and lid is not None and other is not None:
            self._rename(other, lid)
        if kind in STRUCTURAL:
            self._reroute_timer.start()

    def _move_block(self, lid: str) -> None:
        """Put lid's block where the model says (its edges follow at the flush)."""
        pos = self.context.design.layer(lid).position
        item = self.blocks[lid]
        if pos is not None and (item.x(), item.y()) != tuple(pos):
            before = item.pos()
            item.setPos(*pos)
            self.router.mark_move(item, before)

    def settle_moves(self) -> None:
        """Show every block move still waiting (an edit reads block places next)."""
        self.late.settle()

    def _rename(self, old: str, new: str) -> None:
        item = self.blocks.pop(old, None)
        if item is None:
            return
        self.late.renamed(old, new)
        item.layer_id = new
        self.blocks[new] = item
        for (src, dst) in self.router.keys_at(old):
            edge = self.edges.pop((src, dst))
            self.router.removed((src, dst), edge)
            moved = edge.source == old
            key = (new + src[len(old):] if moved else src,   # the ":port" suffix stays
                   new if dst == old else dst)
            edge.rename(*key, source=new if moved else edge.source)
            self.edges[key] = edge
            self.router.added(key, edge)

    def _place_pending(self) -> None:
        """Store the places chosen for layers that came without one, so that a
        saved design keeps the layout the user sees (via the model method)."""
        pending, self._pending_place = self._pending_place, []
        design = self.context.design
        self._placing = True   # the blocks are there already: their events change nothing
        try:
            for lid in pending:
                if lid in design and lid in self.blocks and design.layer(lid).position is None:
                    item = self.blocks[lid]
                    design.move_layer(lid, (item.x(), item.y()))
        finally:
            self._placing = False

    @Slot(object)
    def _on_analysis(self, analysis: Analysis) -> None:
        """Only blocks that may look different are brought up to date (texts.py):
        after a parameter edit, those layers; after a worker's analysis, those
        whose analysis changed."""
        changed = self.context.redraw_ids
        self.texts.update(None if changed is None or analysis is not self.context.analysis
                          else changed)
        if self._pending_place and self.autoplace:
            self._place_pending()

    def ports_moved(self, lid: str) -> None:
        """lid's output ports changed: its edges leave from other places."""
        self.router.mark(lid)
        for key in self.router.keys_at(lid):
            edge = self.edges[key]
            edge.port = self._port_index(edge.src)

    def complete(self) -> None:
        """Finish now what large designs do in slices (block moves, block texts,
        edge routes)."""
        self.settle_moves()
        self.texts.finish()
        self.router.finish()

    def pending(self) -> int:
        """Block moves, texts and edge routes still to do (0 once the canvas is
        complete)."""
        return self.texts.pending() + self.router.pending() + self.late.pending() + \
            int(self._reroute_timer.isActive())   # a flush still to come

    def schedule_flush(self) -> None:
        self._reroute_timer.start()

    # --- geometry ------------------------------------------------------
    @Slot()
    def flush(self) -> None:
        """Re-place the input block, route the edges that may have changed (see
        routing.py) and grow the scene rect."""
        self._reroute_timer.stop()
        self.late.flush()
        self._geometry()

    def _geometry(self) -> None:
        self._place_input()
        self._place_hint()
        if self.router.dirty is None or len(self.blocks) < 2000:
            self.setSceneRect(self.blocks_rect().adjusted(-1500, -1000, 1500, 1000))
        else:   # walking 10,000 blocks for the rect costs more than the edit
            grown = self.sceneRect()
            for lid in self.router.dirty:
                if lid in self.blocks:
                    grown = grown.united(self.blocks[lid].scene_rect()
                                         .adjusted(-1500, -1000, 1500, 1000))
            self.setSceneRect(grown)
        self.router.route_pending()

    def _place_hint(self) -> None:
        """An empty design says what to do, under the input block."""
        empty = not self.context.design.layers
        self._hint.setVisible(empty)
        if empty:
            where = self.blocks[INPUT_ID].pos()
            width = self._hint.boundingRect().width()
            self._hint.setPos(where.x() - width / 2, where.y() + ROW * 0.75)

    def _place_input(self) -> None:
        """The input has no stored place: it sits above the layers it feeds."""
        edges = (self.edges[key] for key in self.router.keys_at(INPUT_ID))
        consumers = [self.blocks[dst] for dst in
                     dict.fromkeys(e.dst for e in edges if e.source == INPUT_ID)
                     if dst in self.blocks]
        item = self.blocks[INPUT_ID]
        if consumers and self.horizontal:
            y = sum(sorted(c.y() for c in consumers)) / len(consumers)
            where = QPointF(min(c.x() for c in consumers) - COL, y)
        elif consumers:
            x = sum(sorted(c.x() for c in consumers)) / len(consumers)
            where = QPointF(x, min(c.y() for c in consumers) - ROW)
        else:
            return
        if where != item.pos():
            self.router.mark(INPUT_ID, item.scene_rect())
            item.setPos(where)
            self.router.mark(INPUT_ID, item.scene_rect())

    def _endpoints(self, edge: EdgeItem) -> tuple[QPointF, QPointF]:
        return self.router.endpoints(edge)

    def _route_edge(self, edge: EdgeItem, obstacles: list[QRectF]) -> None:
        self.router.route(edge, obstacles)

    def _block_dragged(self, item: BlockItem) -> None:
        """While a block is dragged its edges follow it (straight; routed on drop)."""
        for key in self.router.keys_at(item.layer_id):
            self._route_edge(self.edges[key], [])

    # --- selection -----------------------------------------------------
    def selected_blocks(self) -> list[BlockItem]:
        return [i for i in self.selectedItems() if isinstance(i, BlockItem)]

    def selected_edges(self) -> list[EdgeItem]:
        return [i for i in self.selectedItems() if isinstance(i, EdgeItem)]

    @Slot()
    def _on_scene_selection(self) -> None:
        # True also while Qt destroys the scene: ~QGraphicsScene clears its items,
        # which emits selectionChanged after the Python side is gone
        if getattr(self, "_syncing_selection", True):
            return
        blocks = self.selected_blocks()
        ids = [b.layer_id for b in blocks if not b.is_input]
        chosen = ids[0] if len(blocks) == 1 and len(ids) == 1 else None
        self._syncing_selection = True
        try:
            self.context.select(chosen)
        finally:
            self._syncing_selection = False

    @Slot(object)
    def _on_context_selection(self, layer_id: object) -> None:
        if self._syncing_selection:
            return
        self._syncing_selection = True
        try:
            current = [b.layer_id for b in self.selected_blocks()]
            if layer_id is None:
                if len(current) <= 1:
                    self.clearSelection()
            elif layer_id in self.blocks and current != [layer_id]:
                self.clearSelection()
                self.blocks[str(layer_id)].setSelected(True)
        finally:
            self._syncing_selection = False

    # --- gestures: connect and move --------------------------------------
    def block_at(self, pos: QPointF, exclude: BlockItem | None = None) -> BlockItem | None:
        for item in self.items(pos):
            if isinstance(item, BlockItem) and item is not exclude:
                return item
        return None

    def edge_at(self, pos: QPointF) -> EdgeItem | None:
        area = QRectF(pos.x() - 3, pos.y() - 3, 6, 6)
        for item in self.items(area, Qt.ItemSelectionMode.IntersectsItemShape):
            if isinstance(item, EdgeItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            block = self.block_at(event.scenePos())
            port = None if block is None else block.output_port_index(event.scenePos())
            if block is not None and port is not None:
                self._begin_connect(block, port)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_positions = {b.layer_id: b.pos() for b in self.selected_blocks()
                                     if not b.is_input}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._connect_from is not None:
            self._drag_connect(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)
        for lid in self._press_positions:   # a drag: the blocks moved with the mouse
            item = self.blocks.get(lid)
            if item is not None:
                self._block_dragged(item)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._connect_from is not None:
            self._finish_connect(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._finish_move()

    def _begin_connect(self, block: BlockItem, port: int = 0) -> None:
        self._connect_from = block
        self._connect_port = port
        line = QGraphicsPathItem()
        line.setPen(QPen(QColor("#1a73e8"), 2.0, Qt.PenStyle.DashLine))
        line.setZValue(5.0)
        self.addItem(line)
        self._connect_line = line

    def _drag_connect(self, pos: QPointF) -> None:
        assert self._connect_from is not None and self._connect_line is not None
        target = self.block_at(pos, self._connect_from)
        if target is not None and target.is_input:
            target = None
        if self._connect_target is not None and self._connect_target is not target:
            self._connect_target.set_connect_target(False)
        if target is not None:
            target.set_connect_target(True)
        self._connect_target = target
        end = target.input_port() if target is not None else pos
        path: QPainterPath = flow_curve(self._connect_from.output_port(self._connect_port), end,
                                        self.horizontal)
        self._connect_line.setPath(path)

    def _finish_connect(self, pos: QPointF) -> None:
        src = self._connect_from
        assert src is not None
        self._connect_from = None
        if self._connect_target is not None:
            self._connect_target.set_connect_target(False)
            self._connect_target = None
        if self._connect_line is not None:
            self.removeItem(self._connect_line)
            self._connect_line = None
        target = self.block_at(pos, src)
        if target is None:
            return
        ports = src.text.ports
        port = ports[self._connect_port] if 0 < self._connect_port < len(ports) else None
        self.connect_blocks(make_ref(src.layer_id, port), target.layer_id)

    def connect_blocks(self, src: str, dst: str) -> bool:
        """Push the command for src -> dst; refusals become a status message."""
        design = self.context.design
        if dst == INPUT_ID:
            self.status("The input cannot take an input: drag from an output port (bottom) "
                        "to a layer.")
            return False
        layer = design.layer(dst)
        single = is_known(layer.type) and get_type(layer.type).max_inputs == 1
        source = design.source_of(src)
        try:
            if single and layer.inputs and src not in layer.inputs:
                if source != INPUT_ID and (dst == source or dst in design.upstream_ids(source)):
                    raise DesignError(f"connecting '{src}' to '{dst}' would make a cycle")
                old = layer.inputs[0]
                cmd = SetInputsCommand(design, dst, [src], f"Connect {src} → {dst}")
                self.undo_stack.push(cmd)
                self.status(f"'{dst}' takes one input: it now reads '{src}' instead of '{old}'.")
                return True
            self.undo_stack.push(connect_command(design, src, dst))
        except DesignError as e:
            self.status(f"Cannot connect: {e}.")
            return False
        return True

    def _finish_move(self) -> None:
        """One MoveLayersCommand for the whole drag; places snap to a small grid
        so that blocks line up (and their edges run straight) easily."""
        design = self.context.design
        moves = {}
        for lid, before in self._press_positions.items():
            item = self.blocks.get(lid)
            if item is None or lid not in design or item.pos() == before:
                continue
            self.router.mark(lid, item.mapRectToScene(item.rect()).translated(before - item.pos()))
            moves[lid] = (design.layer(lid).position, snap(item.x(), item.y()))
        self._press_positions = {}
        if moves:
            self.undo_stack.push(MoveLayersCommand(design, moves))
