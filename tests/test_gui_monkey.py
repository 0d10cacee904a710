"""GUI monkey test (issue 12): thousands of random user actions on the real
window, driven through its own actions and gestures, with a fixed seed.

After every action the canvas must mirror the design (one block per layer, one
edge per input reference); nothing may raise (pytest-qt fails the test on an
exception in any Qt callback); at the end, undoing everything gives back the
original design exactly and redoing everything gives the final one.

After each action the panels' refreshes that the event loop would run before
painting are run (deferred.flush_scheduled); every PAINT_EVERY actions the event
loop itself turns (timers, a repaint of the window).

MONKEY_ACTIONS (default 2000, the issue's figure: the module takes 113 s of CPU on
the 2-core dev machine, pytest's start included, ~18 ms per action including the
undo-all / redo-all at the end) and MONKEY_SEEDS (default "1,2,3") override the
sizes, e.g. a quicker run: MONKEY_ACTIONS=500 pytest tests/test_gui_monkey.py
"""
from __future__ import annotations

import os
import random
from collections import Counter
from typing import Callable

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from designer.core.catalogue import all_types
from designer.core.model import INPUT_ID
from designer.core.templates import TEMPLATES
from designer.gui.canvas.block_item import BlockItem
from designer.gui.canvas.edge_item import EdgeItem
from designer.gui.commands import disconnect_command
from designer.gui.deferred import flush_scheduled
from designer.gui.param_widgets import (BoolEditor, ChoiceEditor, FloatEditor, IntEditor,
                                        PaddingEditor, TextEditor)
from designer.io import dumps

pytest.importorskip("pyqtgraph")

ACTIONS = int(os.environ.get("MONKEY_ACTIONS", "2000"))
SEEDS = [int(s) for s in os.environ.get("MONKEY_SEEDS", "1,2,3").split(",")]
PAINT_EVERY = 50       # actions between two turns of the event loop (a repaint: ~20-60 ms)
MAX_LAYERS = 30        # past this, adding gives way to deleting (keeps each step fast)
TEXTS = ["3", "2, 1", "1", "0", "abc", "", "-4", "1,2,3", "7", "[2, 2]", "same", "1e3", "5"]
INTS = [0, 1, 2, 3, 4, 7, 16, 64, 1000, -1, 10 ** 6]
FLOATS = [0.0, 0.1, 0.5, 1.0, 1e-5, 2.0, -1.0]


class Monkey:
    def __init__(self, win, seed: int) -> None:
        self.win = win
        self.rng = random.Random(seed)
        self.design = win.context.design
        self.scene = win.canvas.design_scene()
        self.types = sorted(t.name for t in all_types())
        self.done: Counter[str] = Counter()
        self.mode_setter = self._find_modes()
        self.actions: list[tuple[int, Callable[[], None]]] = [
            (8, self.add_from_palette), (2, self.add_template), (4, self.drop_layer),
            (8, self.connect), (5, self.disconnect), (6, self.delete), (4, self.cut_paste),
            (3, self.copy_paste), (4, self.duplicate), (22, self.edit_param),
            (12, self.undo), (8, self.redo), (2, self.auto_layout),
        ]
        if self.mode_setter is not None:
            self.actions.append((3, self.switch_mode))

    # --- helpers ----------------------------------------------------------------
    def _find_modes(self) -> Callable[[str], None] | None:
        """The mode bar's API (Design / Train / Inspect)."""
        modes = getattr(self.win, "modes", None)
        return None if modes is None else modes.switch

    def ids(self) -> list[str]:
        return [lay.id for lay in self.design.layers]

    def pick(self, k: int = 1) -> list[str]:
        ids = self.ids()
        return self.rng.sample(ids, min(k, len(ids))) if ids else []

    def select(self, ids: list[str]) -> None:
        self.scene.clearSelection()
        for lid in ids:
            if lid in self.scene.blocks:
                self.scene.blocks[lid].setSelected(True)
        if len(ids) != 1:
            self.win.context.select(None)

    def full(self) -> bool:
        return len(self.design.layers) >= MAX_LAYERS

    # --- actions ------------------------------------------------------------------
    def add_from_palette(self) -> None:
        if self.full():
            return self.delete()
        self.select(self.pick() if self.rng.random() < 0.7 else [])
        self.win.append_entry("layer", self.rng.choice(self.types))

    def add_template(self) -> None:
        if self.full():
            return self.delete()
        self.select(self.pick())
        self.win.append_entry("template", self.rng.choice(sorted(TEMPLATES)))

    def drop_layer(self) -> None:
        """A palette drop: on a block, on an edge or in free space."""
        if self.full():
            return self.delete()
        where = self.rng.random()
        items = list(self.scene.blocks.values())
        if where < 0.4 and items:
            pos = self.rng.choice(items).pos() + QPointF(self.rng.uniform(-60, 60), 0)
        elif where < 0.7 and self.scene.edges:
            path = self.rng.choice(list(self.scene.edges.values())).path()
            pos = path.pointAtPercent(0.5)
        else:
            rect = self.scene.blocks_rect()
            pos = QPointF(self.rng.uniform(rect.left() - 300, rect.right() + 300),
                          self.rng.uniform(rect.top() - 200, rect.bottom() + 200))
        self.win.canvas.add_layer_at(self.rng.choice(self.types), pos)

    def connect(self) -> None:
        ids = self.ids()
        if not ids:
            return
        src = self.rng.choice([INPUT_ID] + ids)
        self.scene.connect_blocks(src, self.rng.choice(ids))

    def disconnect(self) -> None:
        edges = list(self.scene.edges.values())
        if not edges:
            return
        self.scene.clearSelection()
        self.rng.choice(edges).setSelected(True)
        self.win.actions_.delete.trigger()

    def delete(self) -> None:
        self.select(self.pick(self.rng.choice([1, 1, 1, 2, 3])))
        self.win.actions_.delete.trigger()

    def cut_paste(self) -> None:
        self.select(self.pick(self.rng.choice([1, 1, 2])))
        self.win.actions_.cut.trigger()
        self.select(self.pick() if self.rng.random() < 0.7 else [])
        self.win.actions_.paste.trigger()

    def copy_paste(self) -> None:
        self.select(self.pick(self.rng.choice([1, 2])))
        self.win.actions_.copy.trigger()
        self.select(self.pick() if self.rng.random() < 0.7 else [])
        self.win.actions_.paste.trigger()

    def duplicate(self) -> None:
        self.select(self.pick(self.rng.choice([1, 1, 2])))
        self.win.actions_.duplicate.trigger()

    def edit_param(self) -> None:
        """Through the property editor's own widgets, with valid and invalid values."""
        current = self.win.context.selected_id
        keep = current in self.design and self.rng.random() < 0.7   # go on editing it
        ids = [current] if keep else self.pick()
        if not ids:
            return
        if not keep:
            self.select(ids)
        editors = list(self.win.properties.editors.values())
        if not editors:
            return
        ed = self.rng.choice(editors)
        rng = self.rng
        if isinstance(ed, IntEditor):
            ed.box.setValue(rng.choice(INTS))
        elif isinstance(ed, FloatEditor):
            ed.box.setValue(rng.choice(FLOATS))
        elif isinstance(ed, BoolEditor):
            ed.box.setChecked(not ed.box.isChecked())
        elif isinstance(ed, ChoiceEditor):
            i = rng.randrange(ed.box.count())
            ed.box.setCurrentIndex(i)
            ed.box.activated.emit(i)
        elif isinstance(ed, PaddingEditor):
            if rng.random() < 0.5:
                i = rng.randrange(ed.mode.count())
                ed.mode.setCurrentIndex(i)
                ed.mode.activated.emit(i)
            else:
                ed.text.edit.setText(rng.choice(TEXTS))
                ed.text.edit.editingFinished.emit()
        elif isinstance(ed, TextEditor):
            ed.edit.setText(rng.choice(TEXTS))
            ed.edit.editingFinished.emit()

    def undo(self) -> None:
        if self.win.actions_.undo.isEnabled():
            self.win.actions_.undo.trigger()

    def redo(self) -> None:
        if self.win.actions_.redo.isEnabled():
            self.win.actions_.redo.trigger()

    def auto_layout(self) -> None:
        self.win.actions_.auto_layout.trigger()

    def switch_mode(self) -> None:
        assert self.mode_setter is not None
        self.mode_setter(self.rng.choice(["design", "train", "inspect", "design"]))

    def step(self) -> str:
        """One random action; returns what it was, with the selection it acted on."""
        weights = [w for w, _ in self.actions]
        action = self.rng.choices([a for _, a in self.actions], weights)[0]
        self.done[action.__name__] += 1
        action()
        return f"{action.__name__} {self.win.canvas.selected_ids()}"


def assert_canvas_mirrors(win) -> None:
    """One block per layer (plus the input), one edge per input reference."""
    design = win.context.design
    scene = win.canvas.design_scene()
    ids = [lay.id for lay in design.layers]
    assert len(set(ids)) == len(ids)
    assert set(scene.blocks) == set(ids) | {INPUT_ID}
    refs = design.edges()
    assert len(refs) == sum(len(lay.inputs) for lay in design.layers)
    assert sorted(scene.edges) == sorted(refs)
    items = scene.items()
    assert sum(isinstance(i, BlockItem) for i in items) == len(ids) + 1
    assert sum(isinstance(i, EdgeItem) for i in items) == len(refs)
    for (src, dst), edge in scene.edges.items():
        assert (edge.src, edge.dst) == (src, dst)
    summary = win.summary.summary.ids[:-1]
    assert sorted(summary) == sorted(ids)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_user_actions_keep_the_window_consistent(app_window, qtbot, monkeypatch, seed):
    win = app_window
    monkeypatch.setattr(win, "_show_error", lambda title, text: pytest.fail(f"{title}: {text}"))
    win.autosaver.stop()
    qtbot.wait(1)
    win.undo_stack.clear()
    original = dumps(win.context.design)
    monkey = Monkey(win, seed)
    history: list[str] = []
    for n in range(ACTIONS):
        with qtbot.capture_exceptions() as caught:
            history.append(monkey.step())
            # the panels' refreshes that the event loop runs before it paints; a
            # turn of the loop itself (timers, painting) after every few actions
            flush_scheduled()
            if n % PAINT_EVERY == PAINT_EVERY - 1:
                QApplication.processEvents()
        where = f"seed {seed}, action {n + 1}; the last actions: {history[-6:]}"
        assert not caught, f"{where}: {caught[0][1]!r}"
        try:
            assert_canvas_mirrors(win)
        except AssertionError as e:
            raise AssertionError(f"{where}: {e}") from e
    qtbot.wait(1)
    assert_canvas_mirrors(win)
    assert sum(monkey.done.values()) == ACTIONS
    assert win.undo_stack.count() > 0
    assert_undo_all_and_redo_back(win, original)


def assert_undo_all_and_redo_back(win, original: str) -> None:
    """Undoing everything gives the original design; redoing up to where the user
    was gives the final one. Not redo-all: when the last actions were undos, the
    stack still holds steps the user took back, and redoing them is another design."""
    stack, undo, redo = win.undo_stack, win.actions_.undo, win.actions_.redo
    final, where = dumps(win.context.design), stack.index()
    while stack.canUndo():   # through the window's actions, as Ctrl+Z does
        undo.trigger()
    flush_scheduled()        # the panels' refreshes, before the window paints
    assert_canvas_mirrors(win)
    assert dumps(win.context.design) == original, "undoing everything is not the original"
    while stack.index() < where:
        redo.trigger()
    flush_scheduled()
    assert_canvas_mirrors(win)
    assert dumps(win.context.design) == final, "redoing everything is not the final design"
    while stack.canRedo():   # the steps taken back replay too
        redo.trigger()
    flush_scheduled()
    assert_canvas_mirrors(win)


def test_redo_back_stops_where_the_user_was(app_window):
    """The monkey's own end check: a session that ends with an undo (here of a
    disconnect) is back at its final design after undo-all and redo, and the
    undone step is not replayed into it."""
    win = app_window
    win.undo_stack.clear()
    original = dumps(win.context.design)
    layer = win.context.design.layers[-1]
    assert layer.inputs
    win.canvas.design_scene().clearSelection()
    win.append_entry("layer", "ReLU")
    final = dumps(win.context.design)
    added = win.context.design.layers[-1].id
    win.undo_stack.push(disconnect_command(win.context.design, layer.id, added))
    win.undo_stack.undo()
    assert dumps(win.context.design) == final
    assert_undo_all_and_redo_back(win, original)
    assert win.context.design.layer(added).inputs == []    # the rest replayed at the end
