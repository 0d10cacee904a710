"""DesignCanvas: the designer window's graph view (zoom, pan, drops, export).

Gestures become undo commands (see edits.py and scene.py); the view itself
never edits the design.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QContextMenuEvent, QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent,
                           QImage, QKeyEvent, QMouseEvent, QPainter, QUndoStack, QWheelEvent)
from PySide6.QtWidgets import QFrame, QGraphicsItem, QGraphicsView, QMenu, QWidget

from designer.core.catalogue import get_type, is_known
from designer.core.model import Layer
from designer.gui.canvas import edits
from designer.gui.canvas.block_item import BlockItem
from designer.gui.canvas.edge_item import EdgeItem
from designer.gui.canvas.layout import BLOCK_H, BLOCK_W, design_layout
from designer.gui.canvas.mime import LAYER_MIME, TEMPLATE_MIME
from designer.gui.canvas.scene import DesignScene
from designer.gui.context import DesignContext
from designer.io.files import atomic_path

MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
ZOOM_STEP = 1.25
EXPORT_MARGIN = 24.0


class DesignCanvas(QGraphicsView):
    layer_activated = Signal(str)   # double-click on a block (a layer id or "input")
    status_message = Signal(str)    # refusals and hints for the status bar

    def __init__(self, context: DesignContext, undo_stack: QUndoStack,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.undo_stack = undo_stack
        self._scene = DesignScene(context, undo_stack, self.status_message.emit)
        self.setScene(self._scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space_down = False
        self._drop_edge: EdgeItem | None = None
        self.centre_on_design()

    # --- items (tests and the window use these) ----------------------------
    def block_item(self, layer_id: str) -> BlockItem:
        return self._scene.blocks[layer_id]

    def edge_item(self, src: str, dst: str) -> EdgeItem:
        return self._scene.edges[(src, dst)]

    def design_scene(self) -> DesignScene:
        return self._scene

    # --- selection and edits ------------------------------------------------
    def selected_ids(self) -> list[str]:
        return [b.layer_id for b in self._scene.selected_blocks() if not b.is_input]

    def select_all(self) -> None:
        for item in self._scene.items():
            if isinstance(item, (BlockItem, EdgeItem)):
                item.setSelected(True)

    def delete_selected(self) -> None:
        edits.delete_selected(self._scene)

    def add_layer_at(self, type_name: str, scene_pos: QPointF) -> str | None:
        return edits.add_layer_at(self._scene, type_name, QPointF(scene_pos))

    def add_template_at(self, name: str, scene_pos: QPointF | None = None) -> list[str]:
        return edits.add_template_at(self._scene, name,
                                     None if scene_pos is None else QPointF(scene_pos))

    def append_layer(self, type_name: str) -> str | None:
        """Palette double-click: the layer goes right after the selected block
        (else the output) and takes over its consumers; returns the new id."""
        return edits.append_layer(self._scene, type_name)

    def insert_layers_after(self, layers: list[Layer], anchor: str | None, label: str) -> None:
        """Paste / duplicate: below `anchor`, taking over its consumers (one undo step)."""
        edits.insert_layers_after(self._scene, layers, anchor, label)

    def paste_anchor(self) -> str:
        return edits.append_anchor(self._scene)

    def auto_layout(self) -> None:
        edits.auto_layout(self._scene)

    # --- flow direction ------------------------------------------------------
    def is_horizontal(self) -> bool:
        return self._scene.horizontal

    def set_horizontal(self, on: bool, relayout: bool = True) -> None:
        """Top to bottom or left to right. With `relayout` the blocks are laid out
        again for the new direction (one undo step, "Auto layout")."""
        if on == self._scene.horizontal:
            return
        self._scene.set_horizontal(on)
        if relayout:
            self.auto_layout()
            self.zoom_fit()

    def relayout_unrecorded(self) -> None:
        """Lay an opened design out in the current direction without an undo step
        (its file's places were made for the other one)."""
        placed = design_layout(self.context.design, horizontal=self._scene.horizontal)
        for lay in self.context.design.layers:
            if lay.id in placed:
                self.context.design.move_layer(lay.id, placed[lay.id])
        self._scene.flush()
        self._scene.settle_moves()

    def fit_zoom(self, horizontal: bool) -> float:
        """The zoom at which the whole design, laid out in that direction, fits."""
        placed = design_layout(self.context.design, horizontal=horizontal)
        if not placed:
            return 1.0
        xs = [p[0] for p in placed.values()]
        ys = [p[1] for p in placed.values()]
        w = max(xs) - min(xs) + BLOCK_W + 60
        h = max(ys) - min(ys) + BLOCK_H + 60
        port = self.viewport().size()
        return min(port.width() / w, port.height() / h)

    def fit_best_orientation(self) -> bool:
        """Fit the design in view in the direction that shows it larger (its text
        more readable); True when that changed the direction."""
        vertical, horizontal = self.fit_zoom(False), self.fit_zoom(True)
        best = horizontal > vertical * 1.1 if not self.is_horizontal() \
            else not vertical > horizontal * 1.1
        changed = best != self.is_horizontal()
        if changed:
            self.set_horizontal(best)
        self.zoom_fit()
        return changed

    # --- zoom ----------------------------------------------------------------
    def zoom_level(self) -> float:
        return self.transform().m11()

    def _zoom_by(self, factor: float) -> None:
        target = min(max(self.zoom_level() * factor, MIN_ZOOM), MAX_ZOOM)
        factor = target / self.zoom_level()
        if abs(factor - 1.0) > 1e-6:
            self.scale(factor, factor)

    def _zoom_at(self, factor: float, point: QPoint) -> None:
        """Zoom keeping the scene point under `point` (viewport coordinates) there."""
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        under = self.mapToScene(point)
        self._zoom_by(factor)
        moved = self.mapFromScene(under) - point
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self.setTransformationAnchor(anchor)

    def zoom_in(self) -> None:
        self._zoom_centred(ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_centred(1 / ZOOM_STEP)

    def _zoom_centred(self, factor: float) -> None:
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self._zoom_by(factor)
        self.setTransformationAnchor(anchor)

    def reset_zoom(self) -> None:
        centre = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(centre)

    def zoom_fit(self) -> None:
        self._scene.flush()
        self._scene.settle_moves()
        rect = self._scene.blocks_rect().adjusted(-30, -30, 30, 30)
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom_level() > 1.5:
            self._zoom_centred(1.5 / self.zoom_level())
        elif self.zoom_level() < MIN_ZOOM:
            self._zoom_centred(MIN_ZOOM / self.zoom_level())

    def centre_on_design(self) -> None:
        self._scene.settle_moves()
        rect = self._scene.blocks_rect()
        if not rect.isEmpty():
            self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / 2 - 20)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self._zoom_at(1.15 ** steps, event.position().toPoint())
            event.accept()
            return
        super().wheelEvent(event)

    # --- pan: middle button or space + drag -----------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space_down and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space_down
                                      else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        block = self._scene.block_at(self.mapToScene(event.position().toPoint()))
        if block is not None:   # "input" too: the property editor then shows the input
            self.layer_activated.emit(block.layer_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def context_menu(self, scene_pos: QPointF) -> QMenu:
        """The right-click menu; the item under the click joins the selection."""
        item = self._scene.block_at(scene_pos) or self._scene.edge_at(scene_pos)
        if item is not None and not item.isSelected():
            self._scene.clearSelection()
            item.setSelected(True)
        menu = QMenu(self)
        blocks, edges = self.selected_ids(), self._scene.selected_edges()
        if blocks or edges:
            what = (f"Delete {blocks[0]}" if len(blocks) == 1 and not edges
                    else "Disconnect" if edges and not blocks else "Delete selection")
            menu.addAction(what, self.delete_selected)
            menu.addSeparator()
        menu.addAction("Select all", self.select_all)
        menu.addAction("Auto layout", self.auto_layout)
        menu.addAction("Zoom to fit", self.zoom_fit)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(self.mapToScene(event.pos()))
        menu.exec(event.globalPos())
        menu.deleteLater()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # --- drops from the palette -------------------------------------------------
    @staticmethod
    def _accepts(mime: QMimeData) -> bool:
        return mime.hasFormat(LAYER_MIME) or mime.hasFormat(TEMPLATE_MIME)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if not self._accepts(event.mimeData()):
            event.ignore()
            return
        event.acceptProposedAction()
        edge = None
        mime = event.mimeData()
        if mime.hasFormat(LAYER_MIME):
            name = bytes(mime.data(LAYER_MIME).data()).decode("utf-8", "replace")
            if is_known(name) and get_type(name).max_inputs == 1:
                edge = self._scene.edge_at(self.mapToScene(event.position().toPoint()))
        self._highlight_drop_edge(edge)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._highlight_drop_edge(None)
        event.accept()

    def _highlight_drop_edge(self, edge: EdgeItem | None) -> None:
        if self._drop_edge is not None and self._drop_edge is not edge:
            self._drop_edge.set_drop_target(False)
        self._drop_edge = edge
        if edge is not None:
            edge.set_drop_target(True)

    def dropEvent(self, event: QDropEvent) -> None:
        self._highlight_drop_edge(None)
        if not self._accepts(event.mimeData()):
            event.ignore()
            return
        self.handle_drop(event.mimeData(), self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()
        self.setFocus()

    def handle_drop(self, mime: QMimeData, scene_pos: QPointF) -> list[str]:
        """What a drop of `mime` at `scene_pos` does; returns the new layer ids."""
        if mime.hasFormat(LAYER_MIME):
            name = bytes(mime.data(LAYER_MIME).data()).decode("utf-8", "replace")
            new = self.add_layer_at(name, scene_pos)
            return [new] if new else []
        if mime.hasFormat(TEMPLATE_MIME):
            name = bytes(mime.data(TEMPLATE_MIME).data()).decode("utf-8", "replace")
            return self.add_template_at(name, scene_pos)
        return []

    # --- export --------------------------------------------------------------
    def _export_rect(self) -> QRectF:
        self._scene.flush()
        self._scene.complete()   # a large design's texts and edges still on their way
        rect = self._scene.content_rect()
        return rect.adjusted(-EXPORT_MARGIN, -EXPORT_MARGIN, EXPORT_MARGIN, EXPORT_MARGIN)

    def _set_exporting(self, on: bool) -> None:
        """Hide selection marks; draw blocks directly (a cached block would be
        a bitmap in the SVG and blurry in a scaled PNG)."""
        for item in self._scene.items():
            if isinstance(item, (BlockItem, EdgeItem)):
                item.exporting = on
                item.update()
            if isinstance(item, BlockItem):
                item.setCacheMode(QGraphicsItem.CacheMode.NoCache if on
                                  else QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def export_png(self, path: str | Path, scale: float = 2.0) -> None:
        """Render the whole design (not just the visible part) to a PNG; raises
        OSError when the file cannot be written."""
        rect = self._export_rect()
        size = QSize(max(1, round(rect.width() * scale)), max(1, round(rect.height() * scale)))
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(self._scene.backgroundBrush().color())
        self._render(image, rect)
        with atomic_path(path) as tmp:
            if not image.save(str(tmp), "PNG"):
                raise OSError(f"could not write the image to {path}")

    def export_svg(self, path: str | Path) -> None:
        from PySide6.QtSvg import QSvgGenerator
        rect = self._export_rect()
        with atomic_path(path) as tmp:
            generator = QSvgGenerator()
            generator.setFileName(str(tmp))
            generator.setSize(rect.size().toSize())
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle(self.context.design.name)
            generator.setDescription("CNN Designer diagram")
            self._render(generator, rect)
            del generator  # closes the file
            if tmp.stat().st_size == 0:
                raise OSError(f"could not write the drawing to {path}")

    def _render(self, device: object, rect: QRectF) -> None:
        self._set_exporting(True)
        painter = QPainter(device)  # type: ignore[call-overload]
        try:
            painter.setRenderHints(QPainter.RenderHint.Antialiasing
                                   | QPainter.RenderHint.TextAntialiasing)
            painter.fillRect(QRectF(0, 0, painter.device().width(), painter.device().height()),
                             self._scene.backgroundBrush())
            self._scene.render(painter, QRectF(), rect)
        finally:
            painter.end()
            self._set_exporting(False)
