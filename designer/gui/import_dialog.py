"""File > Import PyTorch Model…: choose path/file.py and NAME, import it in a
worker (the window stays responsive), open the result as a new untitled
design and show the import report.

Importing runs the chosen Python file; the dialog says so. The worker is a
QRunnable in the global QThreadPool; its signals live on a QObject owned by
the job (no parent widget that could be deleted while the worker emits). The
result is applied by a controller QObject in the GUI thread.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from designer.gui.canvas.layout import design_layout

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

WARNING = ("Importing <b>runs the chosen Python file</b> (its top level and the "
           "constructor of NAME) inside CNN Designer, with your permissions. Import only "
           "code you trust. (Opening a design file never runs code.)")
_DEFINITION = re.compile(r"^(?:class\s+([A-Za-z_]\w*)\s*[(:]|def\s+([A-Za-z_]\w*)\s*\(\s*\))",
                         re.MULTILINE)


def candidate_names(path: str) -> list[str]:
    """Top-level classes and zero-argument functions, read from the text (not run)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [a or b for a, b in _DEFINITION.findall(text) if not (a or b).startswith("_")]


@dataclass
class ImportOutcome:
    """What the worker hands back to the GUI thread."""
    source: str
    design: Any = None          # designer.core.model.Design, or None
    report: str = ""
    ok: bool = False
    error: str = ""             # SOURCE missing or unreadable


class ImportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, shape: str = "3x224x224") -> None:
        super().__init__(parent)
        self.setWindowTitle("Import PyTorch Model")
        warning = QLabel(WARNING)
        warning.setWordWrap(True)
        warning.setObjectName("importWarning")
        self.path = QLineEdit()
        self.path.setPlaceholderText("path/to/model.py")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.setToolTip("an nn.Module class that takes no arguments, or a function "
                             "that returns a module")
        self.shape = QLineEdit(shape)
        self.shape.setToolTip("the sample input without the batch: channels x height x width")
        form = QFormLayout()
        form.addRow("Python file:", row)
        form.addRow("Module (NAME):", self.name)
        form.addRow("Input (CxHxW):", self.shape)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(warning)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.path.textChanged.connect(self._fill_names)
        self.resize(520, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python file with the model", "",
                                              "Python files (*.py);;All files (*)")
        if path:
            self.path.setText(path)

    @Slot(str)
    def _fill_names(self, path: str) -> None:
        current = self.name.currentText()
        self.name.clear()
        self.name.addItems(candidate_names(path))
        if current:
            self.name.setEditText(current)

    def source(self) -> str:
        return f"{self.path.text().strip()}:{self.name.currentText().strip()}"


class ImportSignals(QObject):
    finished = Signal(object)   # ImportOutcome


class ImportJob(QRunnable):
    """Runs the import off the GUI thread. Holds its own signals object."""

    def __init__(self, source: str, shape: str) -> None:
        super().__init__()
        self.source, self.shape = source, shape
        self.signals = ImportSignals()

    def run(self) -> None:
        self.signals.finished.emit(run_import(self.source, self.shape))


def run_import(source: str, shape_text: str) -> ImportOutcome:
    """The import itself (any thread); never raises."""
    from designer.commands.import_model import parse_shape
    try:
        shape = parse_shape(shape_text)
        from designer.nn.fx_import import import_source
        from designer.nn.fx_source import SourceError
        try:
            _, result = import_source(source, shape)
        except SourceError as e:
            return ImportOutcome(source, error=str(e))
    except ValueError as e:
        return ImportOutcome(source, error=str(e))
    except Exception as e:  # noqa: BLE001 - a report, never a crash of the window
        return ImportOutcome(source, error=f"the import failed: {type(e).__name__}: {e}")
    design = result.design if result.design is not None and result.complete else None
    return ImportOutcome(source, design, result.report.text(), result.ok)


class ImportController(QObject):
    """Lives in the GUI thread; starts jobs and applies their outcome."""

    done = Signal(object)   # ImportOutcome, after it was applied (tests wait on it)

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.running: ImportJob | None = None
        self.previous: ImportJob | None = None
        self.report_box: QMessageBox | None = None

    def ask(self) -> None:
        if self.running is not None:
            self.window.status_message("An import is already running")
            return
        dialog = ImportDialog(self.window)
        if dialog.exec() != QDialog.Accepted:
            return
        self.start(dialog.source(), dialog.shape.text())

    def start(self, source: str, shape: str = "3x224x224") -> None:
        job = ImportJob(source, shape)
        job.setAutoDelete(False)  # the controller keeps it (and its signals) until done
        job.signals.finished.connect(self._finished)
        self.running = job
        self.window.status_message(f"Importing {source}…", 0)
        QThreadPool.globalInstance().start(job)

    @Slot(object)
    def _finished(self, outcome: ImportOutcome) -> None:
        # the pool thread may still be returning from run(): the job stays
        # referenced until the next import finishes
        self.previous, self.running = self.running, None
        self.window.statusBar().clearMessage()
        if outcome.error:
            self._show(QMessageBox.Warning, "Cannot import the model", outcome.error)
        elif outcome.design is not None and (outcome.ok or self._open_anyway(outcome)):
            self._open(outcome)
        elif not outcome.ok:
            self._show(QMessageBox.Warning, "The model cannot be imported", outcome.report)
        self.done.emit(outcome)

    def _open_anyway(self, outcome: ImportOutcome) -> bool:
        answer = QMessageBox.question(
            self.window, "Import with errors",
            outcome.report + "\n\nOpen the design with these errors marked on its layers?")
        return answer == QMessageBox.Yes

    def _open(self, outcome: ImportOutcome) -> None:
        if not self.window.files.may_discard():
            return
        design = outcome.design
        for lid, position in design_layout(design).items():  # the canvas's own layout
            if lid in design:
                design.layer(lid).position = position
        self.window.set_design(design, None)   # a new, untitled document
        self.window.undo_stack.resetClean()           # imported work is unsaved work
        self.window.update_title()
        name = outcome.source.rpartition(":")[2]
        self.window.status_message(f"Imported {name}: {len(outcome.design.layers)} layers")
        if outcome.ok:
            self._show(QMessageBox.Information, "Import report", outcome.report)

    def _show(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text.splitlines()[0] if text else title,
                          QMessageBox.Ok, self.window)
        if text and "\n" in text:
            box.setDetailedText(text)
            box.setInformativeText("\n".join(text.splitlines()[1:8]))
        self.report_box = box
        box.open()   # not exec(): the window stays live


def import_model(window: "MainWindow") -> ImportController:
    """The window's import controller (made on first use), asked to import."""
    window.before_long_operation()   # unsaved edits are autosaved first
    controller = controller_of(window)
    controller.ask()
    return controller


def controller_of(window: "MainWindow") -> ImportController:
    controller = window.findChild(ImportController)
    return controller if controller is not None else ImportController(window)
