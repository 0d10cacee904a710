"""A layer type's explanation (core/explanations.py) as widgets: one line on
what it computes, and the rest (when to use it, formula, parameters) as text
for a fold in Properties and for Help > Layer Reference."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QListWidget, QSplitter,
                               QTextBrowser, QVBoxLayout, QWidget)

from designer.core.catalogue import all_types, get_type, is_known
from designer.core.explanations import explanation_for


def summary_label(type_name: str) -> QLabel | None:
    e = explanation_for(type_name)
    if e is None:
        return None
    label = QLabel(e.computes)
    label.setObjectName("explanation")
    label.setWordWrap(True)
    return label


def details_html(type_name: str, with_summary: bool = False) -> str:
    e = explanation_for(type_name)
    if e is None:
        return ""
    esc = html.escape
    parts = []
    if with_summary:
        category = get_type(type_name).category if is_known(type_name) else ""
        parts.append(f"<h3>{esc(type_name)} <small>({esc(category)})</small></h3>"
                     f"<p>{esc(e.computes)}</p>")
    parts.append(f"<p><b>When to use it:</b> {esc(e.use)}</p>"
                 f"<p><b>Formula:</b> <code>{esc(e.formula)}</code></p>"
                 f"<p><b>Parameters:</b> {esc(e.params)}</p>")
    return "".join(parts)


def details_label(type_name: str) -> QLabel:
    label = QLabel(details_html(type_name))
    label.setObjectName("explanationDetails")
    label.setWordWrap(True)
    label.setTextFormat(Qt.RichText)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


class LayerReference(QDialog):
    """Help > Layer Reference: every catalogue type with its explanation."""

    def __init__(self, parent: QWidget | None = None, select: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Layer reference")
        self.types = QListWidget()
        self.text = QTextBrowser()
        for t in sorted(all_types(), key=lambda t: (t.category, t.name)):
            self.types.addItem(t.name)
        self.types.currentTextChanged.connect(
            lambda name: self.text.setHtml(details_html(name, with_summary=True)))
        split = QSplitter()
        split.addWidget(self.types)
        split.addWidget(self.text)
        split.setSizes([170, 480])
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        lay.addWidget(buttons)
        self.resize(680, 440)
        names = [self.types.item(i).text() for i in range(self.types.count())]
        self.types.setCurrentRow(names.index(select) if select in names else 0)
