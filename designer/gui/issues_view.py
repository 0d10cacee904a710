"""Errors and warnings of one layer (or of the design), each with its message
and, when the analysis suggests one, a Fix button that applies it."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout,
                               QWidget)

from designer.core.analysis import Issue
from designer.gui.icons import severity_icon

FixHandler = Callable[[Issue], None]


class IssueRow(QFrame):
    """One issue; a row is reused for another issue (set_issue) rather than built
    anew, since the Properties panel shows the design's issues after every edit."""

    def __init__(self, issue: Issue, on_fix: FixHandler | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignTop)
        self.message = WrapLabel()
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # the button under the message, not beside it, and elided when the panel is
        # narrow: a long label must never make the Properties panel wider than its dock
        self.button = ElidedButton("")
        self.button.setObjectName("fixButton")
        self.button.clicked.connect(self._fix)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.message)
        column.addWidget(self.button, 0, Qt.AlignLeft)
        layout.addWidget(self.icon)
        layout.addLayout(column, 1)
        self.issue = issue
        self.fix_button: QPushButton | None = None
        self._on_fix: FixHandler | None = None
        self._severity: str | None = None
        self.set_issue(issue, on_fix)

    def set_issue(self, issue: Issue, on_fix: FixHandler | None) -> None:
        self.issue, self._on_fix = issue, on_fix
        if issue.severity != self._severity:
            self._severity = issue.severity
            self.setObjectName(f"issue_{issue.severity}")
            self.icon.setPixmap(severity_icon(issue.severity).pixmap(16, 16))
            self.style().unpolish(self)   # the style sheet picks rows by name
            self.style().polish(self)
        if self.message.text() != issue.message:
            self.message.setText(issue.message)
        fixable = self.fixable(issue, on_fix)
        if fixable:
            assert issue.fix is not None
            self.button.set_full_text(f"Fix: {issue.fix.label}")
            self.button.setToolTip(f"{issue.fix.label}: apply this change (undoable)")
        if self.button.isHidden() == fixable:   # showing one lays out the whole window
            self.button.setVisible(fixable)
        self.fix_button = self.button if fixable else None

    @staticmethod
    def fixable(issue: Issue, on_fix: FixHandler | None) -> bool:
        return issue.fix is not None and on_fix is not None

    def _fix(self) -> None:
        if self._on_fix is not None and self.issue.fix is not None:
            self._on_fix(self.issue)


class WrapLabel(QLabel):
    """A word-wrapped label that remembers its height at each width. A layout
    pass asks every label several times, and each answer lays the text out
    anew: with a few dozen issues listed, that was most of the time of showing
    the design's page or refreshing its list (~10 ms, not ~2)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._heights: dict[int, int] = {}
        self._heights_of = text

    def heightForWidth(self, width: int) -> int:
        text = self.text()
        if text != self._heights_of:
            self._heights_of = text
            self._heights.clear()
        height = self._heights.get(width)
        if height is None:
            height = self._heights[width] = super().heightForWidth(width)
        return height

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._heights.clear()   # the same text takes another height
        super().changeEvent(event)


class ElidedButton(QPushButton):
    """A push button whose text is elided (…) rather than widening its parent."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.full_text = text
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), 80), hint.height())

    def set_full_text(self, text: str) -> None:
        if text != self.full_text:
            self.full_text = text
            self.setText(text)
            self.updateGeometry()
            self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
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
        self._spare: list[IssueRow] = []   # hidden, for the next issues
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
        # a row whose issue is still there keeps it (and its focus); the others
        # take new issues: a design with dozens of errors shows them after every edit
        free = list(self.rows) if same_handler else []
        rows: list[IssueRow | None] = []
        for k in key:   # (Fix is not hashable: a list search)
            row = next((r for r in free if (r.issue.severity, r.issue.message,
                                            r.issue.fix) == k), None)
            if row is not None:
                free.remove(row)
            rows.append(row)
        spare = free + ([] if same_handler else self.rows) + self._spare
        shown: list[IssueRow] = []
        for issue, row in zip(issues, rows):
            if row is None:
                row = self._take(spare, IssueRow.fixable(issue, on_fix)) if spare \
                    else IssueRow(issue, on_fix)
                if row.button.isHidden() == row.fixable(issue, on_fix) or row.isHidden():
                    # showing a widget in a visible window lays out every parent up
                    # to the window at once; within a hidden view it is only a
                    # flag: one layout for all the rows
                    self.hide()
                row.set_issue(issue, on_fix)
            shown.append(row)
        if any(row.isHidden() for row in shown):
            self.hide()
        for row in spare:
            if not row.isHidden():
                row.hide()
        self._spare = spare
        for index, row in enumerate(shown):
            if self.layout_.indexOf(row) != index:
                self.layout_.insertWidget(index, row)
            if row.isHidden():
                row.show()
        self.rows = shown
        if self.isHidden() == bool(self.rows):
            self.setVisible(bool(self.rows))

    @staticmethod
    def _take(spare: list[IssueRow], fixable: bool) -> IssueRow:
        """A spare row, best one on screen whose Fix button already shows or not
        as needed: changing what shows costs a layout of the window."""
        best = max(range(len(spare)), key=lambda i: (not spare[i].isHidden(),
                                                     spare[i].button.isHidden() != fixable))
        return spare.pop(best)

    def fix_buttons(self) -> list[QPushButton]:
        return [r.fix_button for r in self.rows if r.fix_button is not None]
