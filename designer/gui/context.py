"""The hub that the window's views share: the live design, its current
analysis, the selected layer and the latest trained weights.

Views never analyse the design themselves: the context re-runs the analysis
once per model change and emits analysis_changed.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from designer.core.analysis import Analysis, analyse
from designer.core.incremental import analyse_after
from designer.core.model import Design, Event


class DesignContext(QObject):
    analysis_changed = Signal(object)    # Analysis
    selection_changed = Signal(object)   # layer id or None
    weights_changed = Signal(object)     # state_dict (dict[str, Tensor]) or None
    model_event = Signal(object)         # designer.core.model.Event, after re-analysis

    def __init__(self, design: Design, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.design = design
        self.analysis: Analysis = analyse(design)
        # layers whose LayerInfo the last re-analysis recomputed; None: all of them
        self.changed_ids: set[str] | None = None
        self.selected_id: str | None = None
        self.weights: dict[str, Any] | None = None   # from the last training run
        self.weights_design: Design | None = None    # the design snapshot they belong to
        design.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.kind in ("layer_moved",):
            self.model_event.emit(event)
            return
        self.analysis, self.changed_ids = analyse_after(self.design, self.analysis,
                                                        event.kind, event.layer_id)
        if self.selected_id is not None and self.selected_id not in self.design:
            new = event.layer_id if event.kind == "layer_renamed" and \
                event.other == self.selected_id else None
            self.selected_id = new
            self.selection_changed.emit(new)
        self.model_event.emit(event)
        self.analysis_changed.emit(self.analysis)

    def select(self, layer_id: str | None) -> None:
        if layer_id == self.selected_id:
            return
        self.selected_id = layer_id
        self.selection_changed.emit(layer_id)

    def set_weights(self, state_dict: dict[str, Any] | None, design: Design | None) -> None:
        self.weights, self.weights_design = state_dict, design
        self.weights_changed.emit(state_dict)
