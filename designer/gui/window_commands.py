"""Undo commands the window needs that designer/gui/commands.py does not have
(yet): design name, input shape and the frozen flag. Thin like the others:
they only call model methods."""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from designer.core.model import Design, InputSpec

SET_NAME_ID = 1101
SET_INPUT_ID = 1102


class SetDesignNameCommand(QUndoCommand):
    """Rename the design; consecutive renames merge into one undo step."""

    def __init__(self, design: Design, name: str) -> None:
        super().__init__("Rename design")
        self.design, self.old, self.new = design, design.name, name

    def id(self) -> int:
        return SET_NAME_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetDesignNameCommand):
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.design.set_name(self.new)

    def undo(self) -> None:
        self.design.set_name(self.old)


class SetInputSpecCommand(QUndoCommand):
    """Change the design input's rank (1-D, 2-D, 3-D), channels and sizes."""

    def __init__(self, design: Design, spec: InputSpec) -> None:
        super().__init__("Change input size")
        self.design = design
        self.old = InputSpec.from_shape(design.input.shape)
        self.new = InputSpec.from_shape(spec.shape)

    def id(self) -> int:
        return SET_INPUT_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetInputSpecCommand):
            return False
        if len({self.old.rank, self.new.rank, other.new.rank}) > 1:
            return False   # a change of rank is an undo step of its own
        self.new = other.new
        return True

    def redo(self) -> None:
        self.design.set_input_spec(InputSpec.from_shape(self.new.shape))

    def undo(self) -> None:
        self.design.set_input_spec(InputSpec.from_shape(self.old.shape))


class SetFrozenCommand(QUndoCommand):
    """Freeze (exclude from training) or unfreeze a layer's parameters."""

    def __init__(self, design: Design, layer_id: str, frozen: bool) -> None:
        super().__init__(f"{'Freeze' if frozen else 'Unfreeze'} {layer_id}")
        self.design, self.layer_id, self.frozen = design, layer_id, frozen
        self.old = design.layer(layer_id).frozen

    def redo(self) -> None:
        self.design.set_frozen(self.layer_id, self.frozen)

    def undo(self) -> None:
        self.design.set_frozen(self.layer_id, self.old)
