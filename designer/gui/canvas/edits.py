"""Canvas edits that become undo commands: drops, deletion, automatic layout.

Each function builds the command(s) from the scene's current state and
pushes them; the model's events then update the scene.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF

from designer.core.catalogue import get_type, is_known
from designer.core.model import INPUT_ID, DesignError, Layer, split_ref
from designer.core.templates import TEMPLATES
from designer.gui.canvas.layout import (BLOCK_H, BLOCK_W, COL, GAP_X, ROW, Position,
                                        design_layout, layout_graph, overlaps, subgraph_layout)
from designer.gui.canvas.scene import DesignScene
from designer.gui.commands import (AddLayerCommand, InsertLayersCommand, InsertOnEdgeCommand,
                                   InsertTemplateCommand,
                                   MoveLayersCommand, SetInputsCommand, disconnect_command,
                                   macro, push_remove_layers)

Moves = dict[str, tuple[tuple[float, float] | None, tuple[float, float] | None]]
EPS = 1.0


def _step(scene: DesignScene) -> float:
    """One layout row along the flow (down, or right when it runs left to right)."""
    return COL if scene.horizontal else ROW


def _at(scene: DesignScene, along: float, across: float) -> Position:
    """A point from its place along the flow and across it."""
    return (along, across) if scene.horizontal else (across, along)


def _across(scene: DesignScene, item: object) -> float:
    return item.y() if scene.horizontal else item.x()  # type: ignore[attr-defined]


def _shift_below(scene: DesignScene, at: float, rows: float, skip: set[str]) -> Moves:
    """Moves that push every block at or beyond `at` along the flow `rows` rows
    further (make room)."""
    # from the model's places (the same as the blocks' once the scene shows its
    # moves): a plain loop, as it runs over 10,000 layers in one gesture
    blocks, horizontal = scene.blocks, scene.horizontal
    axis, limit = (0 if horizontal else 1), at - EPS
    step = rows * (COL if horizontal else ROW)
    moves: Moves = {}
    for lay in scene.context.design.layers:
        lid, pos = lay.id, lay.position
        if lid in skip:
            continue
        if pos is None:
            item = blocks.get(lid)
            if item is None:
                continue
            pos = (item.x(), item.y())
        if pos[axis] < limit:
            continue
        moves[lid] = (lay.position, (pos[0] + step, pos[1]) if horizontal
                      else (pos[0], pos[1] + step))
    return moves


def add_layer_at(scene: DesignScene, type_name: str, pos: QPointF) -> str | None:
    """A palette drop: on an edge, insert the layer there; elsewhere add an
    unconnected block centred on the drop point. Returns the new id."""
    if not is_known(type_name):
        scene.status(f"Unknown layer type '{type_name}'.")
        return None
    scene.settle_moves()   # the blocks' places are read below
    t = get_type(type_name)
    edge = scene.edge_at(pos) if t.max_inputs == 1 else None
    if edge is not None:
        return _insert_on_edge(scene, type_name, edge.src, edge.dst)
    block = scene.block_at(pos)
    if block is not None:   # dropped on a block: it goes after that block, not on top
        return append_layer(scene, type_name, block.layer_id)
    x, y = round(pos.x()), round(pos.y())
    taken = [(b.x(), b.y()) for b in scene.blocks.values()]
    while any(overlaps((x, y), b, 10.0) for b in taken):   # never half over a block
        x += 10
    cmd = AddLayerCommand(scene.context.design, type_name, t.new_params(), inputs=[],
                          position=(x, y))
    scene.undo_stack.push(cmd)
    scene.context.select(cmd.layer_id)
    scene.status(f"Added {cmd.layer_id}: drag from another block's output port (bottom) "
                 f"to connect it.")
    return cmd.layer_id


def append_anchor(scene: DesignScene) -> str:
    """Where an appended layer goes: after the selection, else after the output."""
    context = scene.context
    design = context.design
    sid = context.selected_id
    if sid is not None and (sid == INPUT_ID or sid in design):
        return sid
    out = context.analysis.output_id
    if out is not None and out in design:
        return out
    return design.layers[-1].id if design.layers else INPUT_ID


def append_layer(scene: DesignScene, type_name: str, anchor: str | None = None) -> str | None:
    """Add a layer after the anchor block (default: append_anchor), taking over its
    consumers, directly below it (blocks further down move to make room): one undo step."""
    if not is_known(type_name):
        scene.status(f"Unknown layer type '{type_name}'.")
        return None
    scene.settle_moves()
    design = scene.context.design
    anchor = anchor or append_anchor(scene)
    a = scene.blocks[anchor]
    pos: Position = scene.ahead(a.x(), a.y())
    taken = scene.occupied(pos, 10.0)
    moves = _shift_below(scene, scene.along(a) + _step(scene) / 2, 1, set()) if taken else {}
    new_id = design.default_id(type_name)
    index = 0 if anchor == INPUT_ID else design.index_of(anchor) + 1
    consumers = scene.consumers(anchor)
    stack = scene.undo_stack
    with macro(stack, design, f"Add {type_name}"):
        stack.push(AddLayerCommand(design, type_name, get_type(type_name).new_params(),
                                   [anchor], new_id, index, position=pos))
        for c in consumers:
            stack.push(SetInputsCommand(design, c.id,
                                        [new_id if s == anchor else s for s in c.inputs],
                                        f"Connect {new_id} → {c.id}"))
        if moves:
            stack.push(MoveLayersCommand(design, moves))
    scene.context.select(new_id)
    return new_id


def _insert_on_edge(scene: DesignScene, type_name: str, src: str, dst: str) -> str:
    design = scene.context.design
    # src may name an output port ("split:1"); its block is the layer's
    s, d = scene.blocks[design.source_of(src)], scene.blocks[design.source_of(dst)]
    moves: Moves = {}
    step = _step(scene)
    room: Position = _at(scene, scene.along(s) + step, _across(scene, d))
    free = not any(overlaps(room, (b.x(), b.y()), 10.0) for b in scene.blocks.values())
    if scene.along(d) - scene.along(s) >= 2 * step - EPS and free:
        pos: Position = room
    elif scene.along(d) > scene.along(s):
        pos = (d.x(), d.y())
        moves = _shift_below(scene, scene.along(d) - step / 2, 1, set())
    else:
        pos = ((s.x() + d.x()) / 2, (s.y() + d.y()) / 2)
    cmd = InsertOnEdgeCommand(design, type_name, src, dst, get_type(type_name).new_params(),
                              position=pos)
    with macro(scene.undo_stack, design, f"Insert {type_name} on {src} → {dst}"):
        scene.undo_stack.push(cmd)
        if moves:
            scene.undo_stack.push(MoveLayersCommand(design, moves))
    assert cmd.layer is not None
    scene.context.select(cmd.layer.id)
    return cmd.layer.id


def template_upstream(scene: DesignScene, pos: QPointF | None) -> str:
    """Where a template goes: after the block it was dropped on, else after the
    selected block, else after the output (the last layer)."""
    block = scene.block_at(pos) if pos is not None else None
    if block is not None:
        return block.layer_id
    return append_anchor(scene)


def add_template_at(scene: DesignScene, name: str, pos: QPointF | None) -> list[str]:
    if name not in TEMPLATES:
        scene.status(f"Unknown block template '{name}'.")
        return []
    scene.settle_moves()
    design = scene.context.design
    upstream = template_upstream(scene, pos)
    cmd = InsertTemplateCommand(design, name, upstream)
    root = scene.blocks[upstream]
    scene.autoplace = False
    try:
        with macro(scene.undo_stack, design, f"Insert {name}"):
            scene.undo_stack.push(cmd)
            ids = cmd.layer_ids
            inputs = {lid: list(dict.fromkeys(design.sources(lid))) for lid in ids}
            placed, depth = subgraph_layout(upstream, ids, inputs, (root.x(), root.y()),
                                            scene.horizontal)
            moves = _shift_below(scene, scene.along(root) + _step(scene) / 2, depth,
                                 set(ids))
            moves.update({lid: (None, placed[lid]) for lid in ids})
            scene.undo_stack.push(MoveLayersCommand(design, moves))
    except DesignError as e:
        scene.status(f"Cannot insert {name}: {e}.")
        return []
    finally:
        scene.autoplace = True
        scene.flush()
    if ids:
        scene.context.select(ids[-1])   # the next template drop chains after this one
    return ids


def delete_selected(scene: DesignScene) -> None:
    """One undo step: disconnect the selected edges, remove the selected layers."""
    design = scene.context.design
    blocks = [b.layer_id for b in scene.selected_blocks()]
    ids = [lay.id for lay in design.layers if lay.id in blocks]
    edges = [(e.src, e.dst) for e in scene.selected_edges()
             if e.src not in ids and e.dst not in ids]
    if not ids and not edges:
        if INPUT_ID in blocks:
            scene.status("The input cannot be deleted: change its size in the properties.")
        return
    stack = scene.undo_stack
    context = scene.context
    current = context.analysis if context.current and not edges else None
    with macro(stack, design, "Delete" if len(ids) + len(edges) != 1 else
               f"Delete {ids[0]}" if ids else f"Disconnect {edges[0][0]} → {edges[0][1]}"):
        for src, dst in edges:
            stack.push(disconnect_command(design, src, dst))
        if ids:
            push_remove_layers(stack, design, ids, current)


def auto_layout(scene: DesignScene) -> None:
    design = scene.context.design
    placed = design_layout(design, horizontal=scene.horizontal)
    moves: Moves = {}
    for lay in design.layers:
        new = placed[lay.id]
        if lay.position is None or tuple(lay.position) != new:
            moves[lay.id] = (lay.position, new)
    if moves:
        cmd = MoveLayersCommand(design, moves)
        cmd.setText("Auto layout")
        scene.undo_stack.push(cmd)
    scene.flush()


def insert_layers_after(scene: DesignScene, layers: list[Layer], anchor: str | None,
                        label: str) -> None:
    """Paste / duplicate: the layers go below `anchor` (which feeds them) and take
    over its consumers when they end in one layer; blocks further down move to make
    room. Without an anchor they land in free space right of the design. One step."""
    scene.settle_moves()
    design = scene.context.design
    ids = [lay.id for lay in layers]
    known = set(ids) | set(scene.blocks)
    sources = {lay.id: [split_ref(s, known)[0] for s in lay.inputs] for lay in layers}
    fed = {s for srcs in sources.values() for s in srcs}
    sinks = [i for i in ids if i not in fed]
    root = scene.blocks.get(anchor) if anchor is not None else None
    consumers = design.consumers(anchor) if root is not None and len(sinks) == 1 else []
    moves: Moves = {}
    if root is not None:
        placed, depth = subgraph_layout(anchor, ids, sources, (root.x(), root.y()),
                                        scene.horizontal)
        blocked = any(overlaps(p, (b.x(), b.y()), 10.0)
                      for p in placed.values() for b in scene.blocks.values())
        if blocked:
            moves = _shift_below(scene, scene.along(root) + _step(scene) / 2, max(depth, 1),
                                 set())
    else:
        rect = scene.blocks_rect()
        placed = layout_graph(ids, sources,
                              (rect.right() + GAP_X + BLOCK_W, rect.top() + BLOCK_H / 2),
                              scene.horizontal)
    taken = [moves[lid][1] if lid in moves else (b.x(), b.y())
             for lid, b in scene.blocks.items()]
    for lay in layers:   # whatever still lands on a block moves right, into free space
        x, y = placed.get(lay.id, (0.0, 0.0))
        while any(overlaps((x, y), t, 10.0) for t in taken):  # type: ignore[arg-type]
            if scene.horizontal:
                y += BLOCK_H + GAP_X
            else:
                x += BLOCK_W + GAP_X
        lay.position = (x, y)
        taken.append((x, y))
    stack = scene.undo_stack
    scene.autoplace = False
    try:
        with macro(stack, design, label):
            stack.push(InsertLayersCommand(design, layers, label))
            for c in consumers:
                if c.id not in ids:
                    stack.push(SetInputsCommand(design, c.id,
                                                [sinks[0] if s == anchor else s
                                                 for s in c.inputs],
                                                f"Connect {sinks[0]} → {c.id}"))
            if moves:
                stack.push(MoveLayersCommand(design, moves))
    finally:
        scene.autoplace = True
        scene.flush()
