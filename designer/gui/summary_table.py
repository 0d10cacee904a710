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
from designer.core.report import human, rf_text
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


class SummaryModel(QAbstractTableModel):
    def __init__(self, context: DesignContext) -> None:
        super().__init__()
        self.context = context
        self.rows: list[tuple[str, ...]] = []
        self.ids: list[str | None] = []
        self.tips: list[str] = []
        self.severity: list[str] = []
        self.brushes: list[QBrush | None] = []
        self.bold = QFont()
        self.bold.setBold(True)
        self.tints = {"error": QBrush(QColor(ERROR_BG)), "warning": QBrush(QColor(WARNING_BG)),
                      "": None}
        self.refresh(context.analysis)

    def refresh(self, analysis: Analysis) -> None:
        self.beginResetModel()
        self.rows, self.ids, self.tips, self.severity = [], [], [], []
        for layer in self.context.design.layers:
            info = analysis.layers.get(layer.id)
            if info is None:
                continue
            shape = (" / ".join(fmt_shape(s) for s in info.port_shapes) if info.multi_output
                     else fmt_shape(info.output_shape))   # every output port's shape
            self.rows.append((layer.id, layer.type, shape,
                              f"{info.params:,}", human(info.macs) if info.macs else "",
                              _bytes(info.memory) if info.memory else "", rf_text(info.rf)))
            self.ids.append(layer.id)
            issues = info.errors + info.warnings
            self.tips.append("\n".join(("✗ " if i.severity == "error" else "! ") + i.message
                                       for i in issues))
            self.severity.append("error" if info.errors else "warning" if info.warnings else "")
        frozen = f" ({analysis.frozen_params:,} frozen)" if analysis.frozen_params else ""
        errors = analysis.error_count
        self.rows.append(("Total", f"{len(self.ids)} layers", fmt_shape(analysis.output_shape),
                          f"{analysis.total_params:,}{frozen}", human(analysis.total_macs),
                          _bytes(analysis.total_memory), ""))
        self.ids.append(None)
        self.tips.append("\n".join(f"✗ {i.message}" for i in analysis.errors))
        self.severity.append("error" if analysis.errors else "")
        self.total_errors = errors
        self.brushes = [self.tints[sev] for sev in self.severity]
        self.endResetModel()

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
            return self.rows[index.row()][index.column()]
        if role == ALIGN:
            return ALIGNMENTS[index.column()]
        if role == BACKGROUND:
            return self.brushes[index.row()]
        if role == FONT:
            return self.bold if self.ids[index.row()] is None else None
        if role == TOOLTIP:
            return self.tips[index.row()] or None
        if role == USER:
            return self.ids[index.row()]
        return None

    def row_of(self, layer_id: str | None) -> int:
        try:
            return self.ids.index(layer_id) if layer_id is not None else -1
        except ValueError:
            return -1


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
        self.summary.refresh(analysis)
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
