"""Undo commands: each edit and its undo/redo leave exactly the design they
should (compared as design-file JSON)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QUndoStack

from designer.core.analysis import analyse
from designer.core.model import Design, DesignError, Layer
from designer.core.params import Fix
from designer.gui.commands import (AddLayerCommand, InsertLayersCommand, InsertOnEdgeCommand,
                                   InsertTemplateCommand, MoveLayersCommand,
                                   RemoveLayersCommand, RenameLayerCommand, SetParamCommand,
                                   SetParamsCommand, apply_fix_command, connect_command,
                                   disconnect_command)
from designer.io import design_file
from tests.conftest import SAMPLES


@pytest.fixture
def stack(undo_stack) -> QUndoStack:
    return undo_stack


def lenet() -> Design:
    return design_file.load(Path(__file__).parent.parent / "samples" / "lenet5.json")


def round_trip(stack: QUndoStack, design: Design, *commands) -> str:
    """Push the commands, check undo restores the start and redo the end."""
    before = design_file.dumps(design)
    for cmd in commands:
        stack.push(cmd)
    after = design_file.dumps(design)
    assert after != before
    for _ in commands:
        stack.undo()
    assert design_file.dumps(design) == before
    for _ in commands:
        stack.redo()
    assert design_file.dumps(design) == after
    return after


def test_add_layer_replays_the_same_id_and_place(stack):
    design = lenet()
    cmd = AddLayerCommand(design, "Dropout", {"p": 0.2}, inputs=["relu3"], position=(5.0, 6.0))
    round_trip(stack, design, cmd)
    layer = design.layer(cmd.layer_id)
    assert (layer.type, layer.params, layer.inputs, layer.position) == (
        "Dropout", {"p": 0.2}, ["relu3"], (5.0, 6.0))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_removing_any_layers_undoes_exactly(stack, path):
    design = design_file.load(path)
    ids = [lay.id for lay in design.layers]
    picks = [ids[len(ids) // 3], ids[len(ids) // 2], ids[-1]]
    round_trip(stack, design, RemoveLayersCommand(design, picks))
    assert not any(p in design for p in picks)


def test_connect_disconnect_and_cycles(stack):
    design = lenet()
    design.add_layer("ReLU", inputs=[], layer_id="loose")
    round_trip(stack, design, connect_command(design, "pool2", "loose"))
    assert design.layer("loose").inputs == ["pool2"]
    with pytest.raises(DesignError, match="cycle"):
        connect_command(design, "loose", "conv1")
    with pytest.raises(DesignError, match="already"):
        connect_command(design, "pool2", "loose")
    round_trip(stack, design, disconnect_command(design, "pool2", "loose"))
    assert design.layer("loose").inputs == []


def test_move_undoes_every_block(stack):
    design = lenet()
    moves = {"conv1": (None, (1.0, 2.0)), "relu1": (None, (3.0, 4.0))}
    round_trip(stack, design, MoveLayersCommand(design, moves))
    assert design.layer("relu1").position == (3.0, 4.0)


def test_consecutive_edits_of_one_field_merge(stack):
    design = lenet()
    for value in (7, 8, 9):
        stack.push(SetParamCommand(design, "conv1", "out_channels", value))
    stack.push(SetParamCommand(design, "conv2", "out_channels", 20))
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert design.layer("conv1").params["out_channels"] == 6
    stack.redo()
    assert design.layer("conv1").params["out_channels"] == 9


def test_set_param_none_goes_back_to_the_default(stack):
    design = lenet()
    round_trip(stack, design, SetParamCommand(design, "pool1", "kernel_size", None))
    assert "kernel_size" not in design.layer("pool1").params
    assert analyse(design).layers["pool1"].errors   # kernel_size is required


def test_rename_and_set_params(stack):
    design = lenet()
    round_trip(stack, design, RenameLayerCommand(design, "conv1", "first"),
               SetParamsCommand(design, "conv2", {"out_channels": 4, "kernel_size": 3}, "x"))
    assert design.layer("relu1").inputs == ["first"]
    assert analyse(design).layers["conv2"].output_shape == (4, 12, 12)


def test_template_insert_replays_the_same_ids(stack):
    design = lenet()
    cmd = InsertTemplateCommand(design, "Residual block", "pool1", {"out_channels": 16})
    round_trip(stack, design, cmd)
    ids = cmd.layer_ids
    assert design.layer(ids[0]).inputs == ["pool1"]
    assert design.layer("conv2").inputs == [ids[-1]]
    assert analyse(design).layers[ids[-1]].output_shape == (16, 14, 14)


def test_insert_on_edge_and_paste(stack):
    design = lenet()
    cmd = InsertOnEdgeCommand(design, "BatchNorm2d", "conv1", "relu1")
    round_trip(stack, design, cmd)
    assert cmd.layer is not None
    assert design.layer("relu1").inputs == [cmd.layer.id]
    pasted = design.layer("fc3").clone()
    pasted.id = "fc_copy"
    round_trip(stack, design, InsertLayersCommand(design, [pasted]))
    assert design.layers[-1].id == "fc_copy"


def test_apply_fix_changes_params_or_inserts_a_layer(stack):
    design = lenet()
    stack.push(SetParamCommand(design, "conv2", "kernel_size", 40))
    issue = analyse(design).layers["conv2"].errors[0]
    assert issue.fix is not None
    stack.push(apply_fix_command(design, "conv2", issue.fix))
    assert analyse(design).layers["conv2"].errors == []
    stack.undo()
    assert design.layer("conv2").params["kernel_size"] == 40
    round_trip(stack, design, apply_fix_command(design, "fc1", Fix("flatten", {}, "Flatten")))
    assert design.layer(design.layer("fc1").inputs[0]).type == "Flatten"


@pytest.mark.parametrize("kind", ["add", "template", "edge", "paste"])
def test_redo_replays_the_place_the_canvas_chose_after_the_command(stack, kind):
    """Layers that come without a position are placed by the canvas after the
    command ran (design.move_layer, outside the stack); a redo must replay that
    place, not come back without one and get re-placed from a different scene."""
    design = lenet()
    if kind == "add":
        cmd = AddLayerCommand(design, "Dropout", {"p": 0.2}, inputs=["relu3"])
    elif kind == "template":
        cmd = InsertTemplateCommand(design, "Residual block", "pool1", {"out_channels": 16})
    elif kind == "edge":
        cmd = InsertOnEdgeCommand(design, "ReLU", "conv1", design.consumers("conv1")[0].id)
    else:
        cmd = InsertLayersCommand(design, [Layer("extra1", "ReLU", {}, ["relu3"])])
    old = {lay.id for lay in design.layers}
    stack.push(cmd)
    new = [lay for lay in design.layers if lay.id not in old]
    assert new and all(lay.position is None for lay in new)
    for n, lay in enumerate(new):   # what the scene's _place_pending does
        design.move_layer(lay.id, (100.0 + n, 2520.0 + n))
    placed = design_file.dumps(design)
    stack.undo()
    stack.redo()
    assert design_file.dumps(design) == placed
