"""Errors and warnings of one layer (or of the design), each with its message
and, when the analysis suggests one, a Fix button that applies it."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout,
                               QWidget)

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
            # under the message, not beside it, and elided when the panel is narrow:
            # a long label must never make the Properties panel wider than its dock
            self.fix_button = ElidedButton(f"Fix: {issue.fix.label}")
            self.fix_button.setObjectName("fixButton")
            self.fix_button.setToolTip(f"{issue.fix.label}: apply this change (undoable)")
            self.fix_button.clicked.connect(lambda: on_fix(issue))
            layout.removeWidget(self.message)
            column = QVBoxLayout()
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(self.message)
            column.addWidget(self.fix_button, 0, Qt.AlignLeft)
            layout.addLayout(column, 1)


class ElidedButton(QPushButton):
    """A push button whose text is elided (…) rather than widening its parent."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.full_text = text
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), 80), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        fm = self.fontMetrics()
        room = self.width() - (super().sizeHint().width() - fm.horizontalAdvance(self.text()))
        shown = fm.elidedText(self.full_text, Qt.ElideRight, max(room, 10))
        if shown != self.text():
            self.setText(shown)

    def sizeHint(self) -> QSize:   # for the whole label, whatever is shown now
        hint = super().sizeHint()
        fm = self.fontMetrics()
        extra = fm.horizontalAdvance(self.full_text) - fm.horizontalAdvance(self.text())
        return QSize(hint.width() + extra, hint.height())


class IssuesView(QWidget):
    """A column of IssueRows; hidden when there is nothing to report."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[IssueRow] = []
        self._shown: list[object] | None = None
        self._no_fix = True
        self._handler: FixHandler | None = None
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)

    def show_issues(self, issues: list[Issue], on_fix: FixHandler | None) -> None:
        key = [(i.severity, i.message, i.fix) for i in issues]
        if key == self._shown and (on_fix is None) == self._no_fix:
            return   # unchanged: keep the widgets (and any focus on a Fix button)
        same_handler = (on_fix is None) == self._no_fix and on_fix == self._handler
        self._shown, self._no_fix, self._handler = key, on_fix is None, on_fix
        # rows whose issue is still there are kept (a design with dozens of errors
        # would otherwise rebuild every row on every edit)
        old = list(self.rows) if same_handler else []
        rows = []
        for issue, k in zip(issues, key):   # (Fix is not hashable: a list search)
            row = next((r for r in old if (r.issue.severity, r.issue.message,
                                           r.issue.fix) == k), None)
            if row is not None:
                old.remove(row)
            rows.append(row if row is not None else IssueRow(issue, on_fix))
        for row in old if same_handler else self.rows:
            row.hide()
            row.deleteLater()   # a row's own Fix button may be mid-signal
        for index, row in enumerate(rows):
            self.layout_.insertWidget(index, row)
        self.rows = rows
        self.setVisible(bool(self.rows))

    def fix_buttons(self) -> list[QPushButton]:
        return [r.fix_button for r in self.rows if r.fix_button is not None]
