"""TEMPORARY: stands in for designer.gui.canvas until it lands."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView, QWidget

try:
    from designer.gui.canvas.mime import LAYER_MIME, TEMPLATE_MIME
    from designer.gui.canvas.view import DesignCanvas
except ImportError:
    LAYER_MIME = "application/x-cnn-designer-layer"
    TEMPLATE_MIME = "application/x-cnn-designer-template"

    class DesignCanvas(QGraphicsView):  # type: ignore[no-redef]
        layer_activated = Signal(str)

        def __init__(self, context: Any, undo_stack: Any, parent: QWidget | None = None):
            super().__init__(parent)
            self.context, self.undo_stack = context, undo_stack
            self.setScene(QGraphicsScene(self))

        def zoom_in(self) -> None: ...
        def zoom_out(self) -> None: ...
        def zoom_fit(self) -> None: ...
        def reset_zoom(self) -> None: ...
        def auto_layout(self) -> None: ...
        def selected_ids(self) -> list[str]:
            sid = self.context.selected_id
            return [sid] if sid and sid != "input" else []
        def select_all(self) -> None: ...
        def delete_selected(self) -> None: ...
        def add_layer_at(self, type_name: str, scene_pos: QPointF) -> None: ...
        def add_template_at(self, name: str, scene_pos: QPointF) -> None: ...
        def export_png(self, path: str, scale: float = 2.0) -> None: ...
        def export_svg(self, path: str) -> None: ...
        def block_item(self, layer_id: str) -> Any: return None
