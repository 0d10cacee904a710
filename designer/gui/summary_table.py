"""The summary table: one row per layer (id, type, output shape, params, MACs,
memory, receptive field) plus a totals row; rows with errors or warnings are
tinted and carry the messages as tooltips; clicking a row selects the layer."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from designer.core.analysis import Analysis
from designer.core.catalogue import fmt_shape
from designer.core.report import flow_order, human, rf_text
from designer.gui.context import DesignContext
from designer.gui.style import ERROR_BG, WARNING_BG

COLUMNS = ("id", "type", "output", "params", "MACs", "memory", "receptive field")
RIGHT = {3, 4, 5}
DISPLAY, TOOLTIP, ALIGN = int(Qt.DisplayRole), int(Qt.ToolTipRole), int(Qt.TextAlignmentRole)
BACKGROUND, FONT, USER = int(Qt.BackgroundRole), int(Qt.FontRole), int(Qt.UserRole)
ALIGNMENTS = [int((Qt.AlignRight if c in RIGHT else Qt.AlignLeft) | Qt.AlignVCenter)
              for c in range(len(COLUMNS))]
Index = QModelIndex | QPersistentModelIndex


def _bytes(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.2f} MB"
    if n >= 2**10:
        return f"{n / 2**10:.1f} kB"
    return f"{n} B"


class _Rows:
    """The rows' texts, made when first shown: a 10,000-layer design costs only
    the rows on screen (and the few an edit changed) per refresh."""

    def __init__(self, model: "SummaryModel") -> None:
        self.model = model
        self.cache: dict[int, tuple[tuple[str, ...], str, str]] = {}

    def entry(self, row: int) -> tuple[tuple[str, ...], str, str]:
        """(cell texts, tooltip, severity)"""
        got = self.cache.get(row)
        if got is None:
            got = self.cache[row] = self.model._make_row(row)
        return got

    def __len__(self) -> int:
        return len(self.model.ids)

    def __getitem__(self, row: int) -> tuple[str, ...]:
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        return self.entry(row)[0]


class SummaryModel(QAbstractTableModel):
    def __init__(self, context: DesignContext) -> None:
        super().__init__()
        self.context = context
        self.analysis: Analysis = context.analysis
        self.ids: list[str | None] = []
        self.positions: dict[str | None, int] = {}
        self.rows = _Rows(self)
        self.bold = QFont()
        self.bold.setBold(True)
        self.tints = {"error": QBrush(QColor(ERROR_BG)), "warning": QBrush(QColor(WARNING_BG)),
                      "": None}
        self.refresh(context.analysis)

    def refresh(self, analysis: Analysis) -> bool:
        """Show `analysis`; True when the rows were rebuilt (not only redrawn)."""
        changed = self.context.changed_ids if analysis is self.context.analysis else None
        self.analysis = analysis
        if changed is not None and len(self.ids) == len(analysis.layers) + 1 and \
                all(lid in self.positions for lid in changed):
            # a parameter edit: same rows, a few of them (and the totals) redrawn
            rows = sorted(self.positions[lid] for lid in changed) + [len(self.ids) - 1]
            for row in rows:
                self.rows.cache.pop(row, None)
            last = self.columnCount() - 1
            for row in rows:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
            return False
        self.beginResetModel()
        self.ids = [lay.id for lay in flow_order(self.context.design, analysis)
                    if lay.id in analysis.layers]
        self.ids.append(None)
        self.positions = {lid: n for n, lid in enumerate(self.ids)}
        self.rows.cache.clear()
        self.endResetModel()
        return True

    def _make_row(self, row: int) -> tuple[tuple[str, ...], str, str]:
        analysis, lid = self.analysis, self.ids[row]
        if lid is None:
            frozen = f" ({analysis.frozen_params:,} frozen)" if analysis.frozen_params else ""
            cells = ("Total", f"{len(self.ids) - 1} layers", fmt_shape(analysis.output_shape),
                     f"{analysis.total_params:,}{frozen}", human(analysis.total_macs),
                     _bytes(analysis.total_memory), "")
            return (cells, "\n".join(f"✗ {i.message}" for i in analysis.errors),
                    "error" if analysis.errors else "")
        info = analysis.layers[lid]
        shape = (" / ".join(fmt_shape(s) for s in info.port_shapes) if info.multi_output
                 else fmt_shape(info.output_shape))   # every output port's shape
        cells = (lid, info.type, shape, f"{info.params:,}",
                 human(info.macs) if info.macs else "",
                 _bytes(info.memory) if info.memory else "", rf_text(info.rf))
        tip = "\n".join(("✗ " if i.severity == "error" else "! ") + i.message
                        for i in info.errors + info.warnings)
        return cells, tip, "error" if info.errors else "warning" if info.warnings else ""

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.DisplayRole) -> Any:
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.DisplayRole) -> Any:
        # Called for every visible cell and role on each repaint: keep it to lookups.
        if role == DISPLAY:
            return self.rows.entry(index.row())[0][index.column()]
        if role == ALIGN:
            return ALIGNMENTS[index.column()]
        if role == BACKGROUND:
            return self.tints[self.rows.entry(index.row())[2]]
        if role == FONT:
            return self.bold if self.ids[index.row()] is None else None
        if role == TOOLTIP:
            return self.rows.entry(index.row())[1] or None
        if role == USER:
            return self.ids[index.row()]
        return None

    def row_of(self, layer_id: str | None) -> int:
        return self.positions.get(layer_id, -1) if layer_id is not None else -1


class SummaryTable(QTableView):
    def __init__(self, context: DesignContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("summary")
        self.context = context
        self.summary = SummaryModel(context)
        self.setModel(self.summary)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setAlternatingRowColors(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((110, 110, 90, 90, 80, 80)):
            self.setColumnWidth(col, width)
        self.clicked.connect(self._on_clicked)
        context.analysis_changed.connect(self._on_analysis)
        context.selection_changed.connect(self._show_selection)
        self._show_selection(context.selected_id)

    @Slot(object)
    def _on_analysis(self, analysis: Analysis) -> None:
        before = self.summary.row_of(self.context.selected_id), len(self.summary.ids)
        reset = self.summary.refresh(analysis)
        # a parameter edit keeps the rows: the selected one stays selected and in view
        if reset or before != (self.summary.row_of(self.context.selected_id),
                               len(self.summary.ids)):
            self._show_selection(self.context.selected_id)

    def _on_clicked(self, index: QModelIndex) -> None:
        layer_id = self.summary.ids[index.row()]
        if layer_id is not None:
            self.context.select(layer_id)

    @Slot(object)
    def _show_selection(self, layer_id: str | None) -> None:
        row = self.summary.row_of(layer_id)
        model = self.selectionModel()
        if row < 0:
            model.clearSelection()
            return
        self.selectRow(row)
        self.scrollTo(self.summary.index(row, 0))
