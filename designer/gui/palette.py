"""The palette: layer types by category and block templates, with a filter.

Dragging an entry starts a drag with LAYER_MIME / TEMPLATE_MIME (the canvas
drops it where released); double-click or Enter emits `activated` so the
window appends it after the selected layer.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag, QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from PySide6.QtGui import QBrush, QColor

from designer.core.analysis import Analysis
from designer.core.catalogue import CATEGORIES, all_types, get_type, shape_layout
from designer.core.model import INPUT_ID
from designer.core.templates import TEMPLATES
from designer.gui.canvas.mime import LAYER_MIME, TEMPLATE_MIME
from designer.gui.icons import category_icon, template_icon

TEMPLATES_GROUP = "Blocks"
KIND_ROLE = Qt.UserRole          # "layer" or "template"
NAME_ROLE = Qt.UserRole + 1      # type or template name
SEARCH_ROLE = Qt.UserRole + 2    # lower-case text the filter matches: name, category, help
TIP_ROLE = Qt.UserRole + 3       # the entry's own tooltip (a fit note is added to it)
NOTE_ROLE = Qt.UserRole + 4      # the shape it was greyed for (None: shown as fitting)
UNFIT = QColor("#9a9a9a")


def next_input_shape(analysis: Analysis, selected: str | None) -> tuple[int, ...] | None:
    """The shape a layer added now would take: the selected layer's output, else
    the design's output (the input when there are no layers)."""
    if selected is not None and selected in analysis.layers:
        return analysis.layers[selected].output_shape
    if selected == INPUT_ID or not analysis.layers:
        return tuple(analysis.input_shape)
    return analysis.output_shape


class PaletteTree(QTreeWidget):
    activated_entry = Signal(str, str)   # kind, name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setIndentation(12)
        self.itemDoubleClicked.connect(self._on_double_click)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME, TEMPLATE_MIME]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        for item in items:
            kind, name = item.data(0, KIND_ROLE), item.data(0, NAME_ROLE)
            if kind:
                data.setData(LAYER_MIME if kind == "layer" else TEMPLATE_MIME,
                             name.encode("utf-8"))
                data.setText(name)
        return data

    def startDrag(self, actions: Qt.DropAction) -> None:
        item = self.currentItem()
        if item is None or not item.data(0, KIND_ROLE):
            return
        drag = QDrag(self)
        drag.setMimeData(self.mimeData([item]))
        drag.setPixmap(item.icon(0).pixmap(24, 24))
        drag.exec(Qt.CopyAction)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            self._on_double_click(self.currentItem(), 0)
            return
        super().keyPressEvent(event)

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        kind = item.data(0, KIND_ROLE)
        if kind:
            self.activated_entry.emit(kind, item.data(0, NAME_ROLE))


class Palette(QWidget):
    """Filter box over the tree. `activated(kind, name)`: append this entry."""
    activated = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit()
        self.filter.setObjectName("paletteFilter")
        self.filter.setPlaceholderText("Filter layers…  (e.g. conv, norm)")
        self.filter.setClearButtonEnabled(True)
        self.tree = PaletteTree()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self._populate()
        self.setMinimumWidth(self.names_width())
        self.filter.textChanged.connect(self.apply_filter)
        self.filter.returnPressed.connect(self._activate_first_visible)
        self.tree.activated_entry.connect(self.activated)

    def _populate(self) -> None:
        groups: dict[str, QTreeWidgetItem] = {}
        for category in CATEGORIES:
            group = QTreeWidgetItem(self.tree, [category])
            group.setFlags(Qt.ItemIsEnabled)
            group.setIcon(0, category_icon(category))
            groups[category] = group
        for t in sorted(all_types(), key=lambda t: (CATEGORIES.index(t.category)
                                                    if t.category in CATEGORIES else 99)):
            group = groups.get(t.category)
            if group is None:
                group = groups[t.category] = QTreeWidgetItem(self.tree, [t.category])
                group.setFlags(Qt.ItemIsEnabled)
            item = QTreeWidgetItem(group, [t.name])
            item.setIcon(0, category_icon(t.category))
            item.setToolTip(0, f"<b>{t.name}</b><br>{t.help}<br><i>double-click or drag "
                               f"onto the canvas</i>")
            item.setData(0, TIP_ROLE, item.toolTip(0))
            item.setData(0, KIND_ROLE, "layer")
            item.setData(0, NAME_ROLE, t.name)
            item.setData(0, SEARCH_ROLE, f"{t.name} {t.category} {t.help}".lower())
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        blocks = QTreeWidgetItem(self.tree, [TEMPLATES_GROUP])
        blocks.setFlags(Qt.ItemIsEnabled)
        blocks.setIcon(0, template_icon())
        for name, template in TEMPLATES.items():
            item = QTreeWidgetItem(blocks, [name])
            item.setIcon(0, template_icon())
            item.setToolTip(0, f"<b>{name}</b><br>{template.help}<br><i>inserts several "
                               f"layers; they stay ordinary layers afterwards</i>")
            item.setData(0, KIND_ROLE, "template")
            item.setData(0, NAME_ROLE, name)
            item.setData(0, SEARCH_ROLE, f"{name} {TEMPLATES_GROUP} {template.help}".lower())
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        for n in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(n)
            group.setHidden(group.childCount() == 0)
        self.tree.expandAll()

    def set_fitting(self, shape: tuple[int, ...] | None) -> None:
        """List first, in each category, the layer types that take `shape` (the
        selected layer's output); the others follow in grey, still usable.
        Whether a type fits depends on the shape's rank only (Type.fits), so an
        edit that keeps the rank (the usual one) changes nothing here."""
        self.fitting_shape = tuple(shape) if shape is not None else None
        rank = None if shape is None else len(shape)
        if hasattr(self, "fitting_rank") and rank == self.fitting_rank:
            return
        self.fitting_rank = rank
        moved = False
        for n in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(n)
            items = [group.child(m) for m in range(group.childCount())]
            fits = {id(i): rank is None or self._fits(i, rank) for i in items}
            order = sorted(items, key=lambda i: not fits[id(i)]) if rank is not None \
                else items
            if any(a is not b for a, b in zip(order, items)):   # out and back: a relayout
                group.takeChildren()
                group.addChildren(order)
                moved = True
            for item in order:
                if item.data(0, KIND_ROLE) != "layer":
                    continue
                note = None if fits[id(item)] else shape_layout(rank)   # type: ignore
                if item.data(0, NOTE_ROLE) == note:
                    continue   # already shown so
                tip = item.data(0, TIP_ROLE) or item.toolTip(0)
                item.setData(0, NOTE_ROLE, note)
                item.setForeground(0, QBrush() if note is None else QBrush(UNFIT))
                item.setToolTip(0, tip if note is None else
                                f"{tip}<br>does not take {note} input (the selected "
                                f"layer's output)")
        if moved:
            self.tree.expandAll()

    @staticmethod
    def _fits(item: QTreeWidgetItem, rank: int) -> bool:
        if item.data(0, KIND_ROLE) != "layer":
            return True
        return get_type(item.data(0, NAME_ROLE)).fits(rank)

    def names_width(self) -> int:
        """Width that shows every entry's whole name (never "Depthwise-sep…")."""
        tree = self.tree
        fm = tree.fontMetrics()
        longest = max(fm.horizontalAdvance(i.text(0)) for i in self.entries())
        icon = tree.iconSize().width() if tree.iconSize().width() > 0 else 16
        chrome = (2 * tree.indentation() + icon + 16          # indent, icon, item padding
                  + tree.verticalScrollBar().sizeHint().width() + 2 * tree.frameWidth()
                  + 8)                                        # the panel's margins
        return longest + chrome

    def entries(self, visible_only: bool = False) -> list[QTreeWidgetItem]:
        out = []
        for n in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(n)
            for m in range(group.childCount()):
                item = group.child(m)
                if not visible_only or not (item.isHidden() or group.isHidden()):
                    out.append(item)
        return out

    def find(self, name: str) -> QTreeWidgetItem | None:
        return next((i for i in self.entries() if i.data(0, NAME_ROLE) == name), None)

    def apply_filter(self, text: str) -> None:
        """Case-insensitive match on the name, the category or the help text."""
        words = text.lower().split()
        for n in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(n)
            shown = 0
            for m in range(group.childCount()):
                item = group.child(m)
                haystack = item.data(0, SEARCH_ROLE) or ""
                hide = not all(w in haystack for w in words)
                item.setHidden(hide)
                shown += not hide
            group.setHidden(shown == 0)
        if not words:
            for n in range(self.tree.topLevelItemCount()):
                group = self.tree.topLevelItem(n)
                group.setHidden(group.childCount() == 0)

    def _activate_first_visible(self) -> None:
        visible = self.entries(visible_only=True)
        if visible and self.filter.text():
            item = visible[0]
            self.activated.emit(item.data(0, KIND_ROLE), item.data(0, NAME_ROLE))
