"""Export PyTorch code: a preview with Python syntax highlighting, Copy and
Save (model.py, optionally train.py next to it)."""
from __future__ import annotations

import html
import keyword
from pathlib import Path

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QColor, QFont, QGuiApplication, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QLabel,
                               QPlainTextEdit, QPushButton, QTabWidget, QVBoxLayout, QWidget)

from designer.core.model import Design
from designer.core.training_config import TrainConfig
from designer.export.common import module_name_problem
from designer.io.files import write_text_atomic


def _fmt(colour: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(colour))
    if bold:
        f.setFontWeight(QFont.Bold)
    f.setFontItalic(italic)
    return f


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, numbers, decorators, strings (incl. triple-quoted) and comments."""

    def __init__(self, document: object) -> None:
        super().__init__(document)
        self.rules: list[tuple[QRegularExpression, QTextCharFormat]] = []
        kw = r"\b(" + "|".join(keyword.kwlist) + r")\b"
        self.rules.append((QRegularExpression(kw), _fmt("#0033b3", bold=True)))
        builtins = r"\b(self|super|int|float|len|range|print|list|dict|tuple|isinstance)\b"
        self.rules.append((QRegularExpression(builtins), _fmt("#871094")))
        self.rules.append((QRegularExpression(r"\b[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\b"),
                           _fmt("#1750eb")))
        self.rules.append((QRegularExpression(r"^\s*@[\w.]+"), _fmt("#9e880d")))
        self.rules.append((QRegularExpression(r"\bdef\s+(\w+)"), _fmt("#00627a", bold=True)))
        self.string = _fmt("#067d17")
        self.comment = _fmt("#8c8c8c", italic=True)
        self.single = QRegularExpression(r"'[^'\\\n]*(\\.[^'\\\n]*)*'|\"[^\"\\\n]*(\\.[^\"\\\n]*)*\"")
        self.comment_re = QRegularExpression(r"#[^\n]*")
        self.triple = QRegularExpression(r'"""|' + r"'''")

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self.rules:
            it = pattern.globalMatch(text)
            while it.hasNext():
                m = it.next()
                group = 1 if pattern.pattern().startswith(r"\bdef") else 0
                self.setFormat(m.capturedStart(group), m.capturedLength(group), fmt)
        strings: list[tuple[int, int]] = []
        it = self.single.globalMatch(text)
        while it.hasNext():
            m = it.next()
            strings.append((m.capturedStart(), m.capturedLength()))
            self.setFormat(m.capturedStart(), m.capturedLength(), self.string)
        it = self.comment_re.globalMatch(text)
        while it.hasNext():
            m = it.next()
            start = m.capturedStart()
            if not any(s <= start < s + n for s, n in strings):
                self.setFormat(start, len(text) - start, self.comment)
                break
        self._triple_quotes(text)

    def _triple_quotes(self, text: str) -> None:
        """Docstrings spanning lines: block state 1 means 'inside a triple quote'."""
        start = 0 if self.previousBlockState() == 1 else -1
        self.setCurrentBlockState(0)
        pos = 0
        while True:
            m = self.triple.match(text, pos)
            if not m.hasMatch():
                break
            if start < 0:
                start = m.capturedStart()
                pos = m.capturedEnd()
            else:
                end = m.capturedEnd()
                self.setFormat(start, end - start, self.string)
                start, pos = -1, end
        if start >= 0:
            self.setFormat(start, len(text) - start, self.string)
            self.setCurrentBlockState(1)


def _editor(text: str) -> QPlainTextEdit:
    edit = QPlainTextEdit(text)
    edit.setReadOnly(True)
    edit.setLineWrapMode(QPlainTextEdit.NoWrap)
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.Monospace)
    edit.setFont(font)
    edit.highlighter = PythonHighlighter(edit.document())  # type: ignore[attr-defined]
    return edit


def generate(design: Design) -> tuple[str | None, str | None, str | None]:
    """(model code, train script, error message): the exporter refuses designs with errors."""
    try:
        from designer.export.pytorch_code import generate_model_code
        from designer.export.train_script import generate_train_script
        model = generate_model_code(design)
        train = generate_train_script(design, TrainConfig.from_dict(design.training))
    except Exception as e:  # the exporter's message is what the user needs to read
        return None, None, str(e) or type(e).__name__
    return model, train, None


class ExportCodeDialog(QDialog):
    def __init__(self, design: Design, parent: QWidget | None = None,
                 folder: str | None = None) -> None:
        super().__init__(parent)
        self.folder = folder   # where Save… starts: the design file's folder
        self.setWindowTitle("Export PyTorch code")
        self.resize(820, 640)
        self.design = design
        self.model_code, self.train_code, self.error = generate(design)
        layout = QVBoxLayout(self)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.tabs = QTabWidget()
        self.model_view = _editor(self.model_code or "")
        self.train_view = _editor(self.train_code or "")
        self.tabs.addTab(self.model_view, "model.py")
        self.tabs.addTab(self.train_view, "train.py")
        self.with_train = QCheckBox("Also save train.py (CIFAR-10 training script)")
        self.with_train.setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.copy_button = QPushButton("Copy")
        self.save_button = QPushButton("Save…")
        buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ActionRole)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(self._save_clicked)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.with_train)
        layout.addWidget(buttons)
        if self.error is not None:
            self.message.setText(f"<b>This design cannot be exported yet:</b> {self.error}")
            self.message.setStyleSheet("color: #8a0012;")
            for w in (self.copy_button, self.save_button, self.with_train, self.tabs):
                w.setEnabled(False)
        else:
            self.message.setText("The code builds exactly this design (standard PyTorch, "
                                 "no dependency on CNN Designer).")
            self.message.setObjectName("muted")

    def current_code(self) -> str:
        view = self.tabs.currentWidget()
        return view.toPlainText() if isinstance(view, QPlainTextEdit) else ""

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.current_code())

    def _ask_save_path(self) -> str | None:
        start = str(Path(self.folder) / "model.py") if self.folder else "model.py"
        path, _ = QFileDialog.getSaveFileName(self, "Save model code", start,
                                              "Python files (*.py)")
        return path or None

    def _save_clicked(self) -> None:
        path = self._ask_save_path()
        if path:
            self.save(path)

    def save(self, path: str) -> list[Path]:
        """Write model.py at path (and train.py beside it when asked). Returns the files."""
        if self.model_code is None:
            return []
        target = Path(path)
        if target.suffix != ".py":
            target = target.with_suffix(".py")
        problem = module_name_problem(target.stem, self.with_train.isChecked()) or (
            f"{target} is a folder" if target.is_dir() else None)
        if problem is not None:
            self._not_saved(problem)
            return []
        train_text = None
        if self.with_train.isChecked():
            train_text = self._train_for(target.stem)
            if train_text is None:
                return []
        written = [target]
        try:
            write_text_atomic(target, self.model_code)
            if train_text is not None:
                name = "train.py" if target.name != "train.py" else "train_model.py"
                write_text_atomic(target.with_name(name), train_text)
                written.append(target.with_name(name))
        except OSError as e:
            self._not_saved(f"cannot write {e.filename or target}: {e.strerror or e}")
            return []
        self.message.setText("Saved " + ", ".join(str(p) for p in written))
        return written

    def _train_for(self, module: str) -> str | None:
        """train.py imports the model from the file it is saved with."""
        if module == "model" and self.train_code is not None:
            return self.train_code
        try:
            from designer.export.train_script import generate_train_script
            return generate_train_script(self.design, TrainConfig.from_dict(self.design.training),
                                         model_module=module)
        except ValueError as e:
            self._not_saved(str(e))
            return None

    def _not_saved(self, reason: str) -> None:
        self.message.setText(f"<b>Not saved:</b> {html.escape(reason)}")
        self.message.setStyleSheet("color: #8a0012;")
