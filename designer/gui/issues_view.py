"""Errors and warnings of one layer (or of the design), each with its message
and, when the analysis suggests one, a Fix button that applies it."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from designer.core.analysis import Issue
from designer.gui.icons import severity_icon

FixHandler = Callable[[Issue], None]


class IssueRow(QFrame):
    def __init__(self, issue: Issue, on_fix: FixHandler | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.issue = issue
        self.setObjectName(f"issue_{issue.severity}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        icon = QLabel()
        icon.setPixmap(severity_icon(issue.severity).pixmap(16, 16))
        icon.setAlignment(Qt.AlignTop)
        self.message = QLabel(issue.message)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(icon)
        layout.addWidget(self.message, 1)
        self.fix_button: QPushButton | None = None
        if issue.fix is not None and on_fix is not None:
            self.fix_button = QPushButton(f"Fix: {issue.fix.label}")
            self.fix_button.setObjectName("fixButton")
            self.fix_button.setToolTip("Apply this change (undoable)")
            self.fix_button.clicked.connect(lambda: on_fix(issue))
            column = QVBoxLayout()
            column.addWidget(self.fix_button)
            column.addStretch(1)
            self.message.setMinimumWidth(120)
            layout.addLayout(column)


class IssuesView(QWidget):
    """A column of IssueRows; hidden when there is nothing to report."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[IssueRow] = []
        self._shown: list[object] | None = None
        self._no_fix = True
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)

    def show_issues(self, issues: list[Issue], on_fix: FixHandler | None) -> None:
        key = [(i.severity, i.message, i.fix) for i in issues]
        if key == self._shown and (on_fix is None) == self._no_fix:
            return   # unchanged: keep the widgets (and any focus on a Fix button)
        self._shown, self._no_fix = key, on_fix is None
        for row in self.rows:
            row.hide()
            row.deleteLater()   # a row's own Fix button may be mid-signal
        self.rows = [IssueRow(issue, on_fix) for issue in issues]
        for row in self.rows:
            self.layout_.addWidget(row)
        self.setVisible(bool(self.rows))

    def fix_buttons(self) -> list[QPushButton]:
        return [r.fix_button for r in self.rows if r.fix_button is not None]
