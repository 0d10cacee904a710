"""One analysis per edit: a command's several model events (a delete that
reconnects, an insert on an edge, a template) reach the views as one
analysis_changed, with the analysis of the design after the whole edit."""
from __future__ import annotations

from pathlib import Path

import pytest

from designer.core.analysis import analyse
from designer.gui.commands import (InsertOnEdgeCommand, InsertTemplateCommand,
                                   RemoveLayersCommand, RenameLayerCommand)
from designer.gui.context import DesignContext
from designer.io import design_file

LENET = Path(__file__).parent.parent / "samples" / "lenet5.json"


class Recorder:
    def __init__(self, context: DesignContext) -> None:
        self.context = context
        self.analyses: list[object] = []
        self.events: list[str] = []
        self.selections: list[tuple[object, bool]] = []
        context.analysis_changed.connect(self.analyses.append)
        context.model_event.connect(lambda e: self.events.append(e.kind))
        # what a view sees when the selection changes: is that layer analysed?
        context.selection_changed.connect(
            lambda lid: self.selections.append((lid, lid in context.analysis.layers)))


def _same(context: DesignContext) -> bool:
    fresh = analyse(context.design)
    return context.current and context.analysis.layers == fresh.layers \
        and context.analysis.output_id == fresh.output_id


@pytest.mark.parametrize("make", [
    lambda d: RemoveLayersCommand(d, ["relu1"]),                    # delete + reconnect
    lambda d: InsertOnEdgeCommand(d, "BatchNorm2d", "conv1", "relu1"),
    lambda d: InsertTemplateCommand(d, "Depthwise separable conv", "relu1"),
])
def test_a_command_is_one_analysis_after_all_its_events(undo_stack, make) -> None:
    context = DesignContext(design_file.load(LENET))
    seen = Recorder(context)
    stack = undo_stack
    stack.push(make(context.design))
    assert len(seen.events) >= 2            # several model events ...
    assert len(seen.analyses) == 1 and _same(context)   # ... one analysis, the final one
    for step in (stack.undo, stack.redo, stack.undo):
        before = len(seen.analyses)
        step()
        assert len(seen.analyses) == before + 1 and _same(context)


def test_a_renamed_selection_is_announced_with_its_analysis(undo_stack) -> None:
    context = DesignContext(design_file.load(LENET))
    seen = Recorder(context)
    context.select("fc1")
    stack = undo_stack
    stack.push(RenameLayerCommand(context.design, "fc1", "hidden1"))
    assert seen.selections[-1] == ("hidden1", True)
    assert context.selected_id == "hidden1" and _same(context)


def test_a_macro_is_one_analysis_when_made_undone_and_redone(undo_stack) -> None:
    """A user action of several commands (a layer deleted with a disconnect and
    the reconnection of its neighbours: one undo macro) analyses once, and so
    do its undo and its redo, which Qt replays command by command."""
    from designer.gui.commands import disconnect_command, macro, push_remove_layers
    context = DesignContext(design_file.load(LENET))
    design = context.design
    seen = Recorder(context)
    stack = undo_stack
    with macro(stack, design, "Delete"):
        stack.push(disconnect_command(design, "pool2", "flatten"))
        push_remove_layers(stack, design, ["relu1"])   # a macro in the macro
    assert stack.count() == 1 and len(seen.analyses) == 1 and _same(context)
    assert "relu1" not in design and design.layer("flatten").inputs == []
    final = design_file.dumps(design)
    for step in (stack.undo, stack.redo, stack.undo, stack.redo):
        before = len(seen.analyses)
        step()
        assert len(seen.analyses) == before + 1 and _same(context)
    assert design_file.dumps(design) == final
    stack.undo()
    assert "relu1" in design and design.layer("flatten").inputs == ["pool2"]
    assert not context._batch_depth   # every batch the replays opened was closed
