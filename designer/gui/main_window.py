"""The designer window: palette (left), canvas (centre), properties and
formulas (right), summary table (bottom), menus, toolbar and status line.

Dialogs are opened only through the small _ask_* / _show_* methods so tests
can replace them."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QShowEvent, QUndoStack
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QPushButton, QWidget)

from designer import __version__
from designer.core.analysis import Analysis
from designer.core.model import Design, Event
from designer.core.report import human
from designer.gui import wheel_guard
from designer.gui.autosave import (Autosaver, Recovery, discard_recovery_file,
                                   orphaned_recoveries)
from designer.gui.canvas.view import DesignCanvas
from designer.gui.canvas_actions import CanvasActions
from designer.gui.context import DesignContext
from designer.gui.deferred import Deferred
from designer.gui.edit_actions import Clipboard, ClipboardError
from designer.gui.export_dialog import ExportCodeDialog
from designer.gui.file_actions import JSON_FILTER, FileActions, default_sample, make_settings
from designer.gui.formula_view import FormulaView
from designer.gui.menus import Actions, build_menus, build_toolbar
from designer.gui.palette import Palette, next_input_shape
from designer.gui.property_editor import PropertyEditor
from designer.gui.summary_table import SummaryTable
from designer.gui.window import help as help_views
from designer.io.design_file import DesignFileError, load

APP_TITLE = "CNN Designer"
MIN_READABLE_ZOOM = 0.7


class MainWindow(QMainWindow):
    def __init__(self, design: Design | None = None, file_path: str | None = None,
                 settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or make_settings()
        self.file_path: str | None = file_path
        self.close_guards: list[Callable[[], bool]] = []
        self.startup_error: str | None = None
        self.panels: Any = None   # designer.gui.panels.Panels, when installed
        self.modes: Any = None    # designer.gui.window.modes.ModeManager, when installed
        self.first_show_hooks: list[Callable[[], None]] = []
        self._restored = False
        self._pending_tabs: list[tuple[QDockWidget, QDockWidget]] = []
        self.context = DesignContext(design or _load_default(), self)
        self.undo_stack = QUndoStack(self)
        self.files = FileActions(self)
        self.clipboard = Clipboard(self.context, self.undo_stack)
        self.setDockOptions(QMainWindow.AnimatedDocks | QMainWindow.AllowTabbedDocks)
        self.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)

        self.canvas = DesignCanvas(self.context, self.undo_stack, self)
        self.setCentralWidget(self.canvas)
        self.canvas_hint = help_views.EmptyCanvasHint(self.canvas, self.context)
        self.clipboard.insert = self.canvas.insert_layers_after
        self.palette = Palette()
        self.properties = PropertyEditor(self.context, self.undo_stack)
        self.formulas = FormulaView(self.context)
        self.summary = SummaryTable(self.context)
        self.actions_ = Actions(self)
        self.view_menu = build_menus(self, self.actions_)
        self.toolbar = build_toolbar(self, self.actions_)
        self.palette_dock = self.add_panel("Layers", self.palette, Qt.LeftDockWidgetArea)
        self.properties_dock = self.add_panel("Properties", self.properties)
        self.formulas_dock = self.add_panel("Formulas", self.formulas)
        self.summary_dock = self.add_panel("Summary", self.summary, Qt.BottomDockWidgetArea)
        self.resizeDocks([self.palette_dock, self.properties_dock], [210, 330], Qt.Horizontal)
        self.resizeDocks([self.properties_dock, self.formulas_dock], [330, 420], Qt.Vertical)
        self.resizeDocks([self.summary_dock], [210], Qt.Vertical)
        self._build_status_bar()
        self.canvas_actions = CanvasActions(self)   # flow direction (View menu)

        self.palette.activated.connect(self.append_entry)
        self.palette_fit = Deferred(self.palette, self._apply_palette_fit)
        self.context.selection_changed.connect(self._update_palette_fit)
        self.context.analysis_changed.connect(self._update_palette_fit)
        self.canvas.layer_activated.connect(self._focus_properties)
        self.canvas.status_message.connect(self.status_message)
        self.properties.message.connect(self.status_message)
        self.context.analysis_changed.connect(self._on_analysis)
        self.context.model_event.connect(self._on_model_event)
        self.context.selection_changed.connect(self._reveal)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.autosaver = Autosaver(self.context.design, self.is_modified, self._file_path,
                                   self)
        self.undo_stack.indexChanged.connect(self._on_index_changed)
        self._on_analysis(self.context.analysis)
        self.update_title()
        self.resize(1400, 900)

    # --- public API -----------------------------------------------------------
    def add_panel(self, title: str, widget: QWidget, area: Qt.DockWidgetArea =
                  Qt.RightDockWidgetArea, tabify_with: QDockWidget | None = None) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName("dock_" + re.sub(r"\W+", "_", title.lower()))
        dock.setWidget(widget)
        wheel_guard.guard(widget)   # the wheel changes only a focused box
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        if tabify_with is not None:
            self._pending_tabs.append((tabify_with, dock))
            if self._restored:
                self._apply_pending_tabs()
        if self._restored:   # added after the saved layout was applied: apply its part
            self.restoreDockWidget(dock)
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def open_file(self, path: str) -> bool:
        return self.files.open_file(str(path))

    def save_file(self, path: str) -> bool:
        return self.files.save_file(str(path))

    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def status_message(self, text: str, timeout_ms: int = 5000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def set_design(self, design: Design, file_path: str | None) -> None:
        """Show another design in place (views keep their subscriptions)."""
        self.context.select(None)
        self.context.set_weights(None, None)   # they belong to the design being closed
        self.context.design.replace_with(design)
        if self.canvas.is_horizontal():   # its places may be for the other direction
            self.canvas.relayout_unrecorded()
        self.undo_stack.clear()
        self.file_path = file_path
        self.update_title()
        self.show_whole_design()

    def show_whole_design(self) -> None:
        """Fit the design in view, unless that makes the blocks too small to read:
        then show it at a readable zoom from the top (long chains scroll)."""
        canvas = self.canvas
        canvas.zoom_fit()
        if canvas.zoom_level() >= MIN_READABLE_ZOOM:
            return
        canvas.reset_zoom()
        canvas.zoom_out()   # one step: 80 %, still readable
        rect = canvas.design_scene().blocks_rect()
        if not rect.isEmpty():
            half = canvas.viewport().height() / 2 / canvas.zoom_level()
            canvas.centerOn(rect.center().x(), rect.top() + half - 20)

    def update_title(self) -> None:
        shown = Path(self.file_path).name if self.file_path else self.context.design.name
        self.setWindowTitle(f"{shown}[*] — {APP_TITLE}")
        self.setWindowModified(self.is_modified())

    # --- edit gestures ----------------------------------------------------------
    def selected_ids(self) -> list[str]:
        ids = [i for i in self.canvas.selected_ids() if i in self.context.design]
        sid = self.context.selected_id
        if not ids and sid is not None and sid in self.context.design:
            ids = [sid]
        return ids

    def append_entry(self, kind: str, name: str) -> None:
        """Palette double-click/Enter: after the selected layer (else the output),
        taking over its consumers; the canvas places the new blocks below it."""
        if kind == "template":
            self.canvas.add_template_at(name, None)
        else:
            self.canvas.append_layer(name)

    def copy(self) -> None:
        if not self.clipboard.copy(self.selected_ids()):
            self.status_message("Select layers to copy")

    def cut(self) -> None:
        if not self.clipboard.cut(self.selected_ids()):
            self.status_message("Select layers to cut")

    def paste(self) -> None:
        anchor = self.canvas.paste_anchor()   # the selected block, else the output
        try:
            ids = self.clipboard.paste(anchor=anchor)
        except ClipboardError as e:
            self.status_message(str(e))
            return
        self.status_message(f"Pasted {len(ids)} layer(s)")

    def duplicate(self) -> None:
        if not self.clipboard.duplicate(self.selected_ids()):
            self.status_message("Select layers to duplicate")

    def delete_selected(self) -> None:
        self.canvas.delete_selected()

    def select_all(self) -> None:
        self.canvas.select_all()

    def find_layer_type(self) -> None:
        self.palette_dock.show()
        self.palette_dock.raise_()
        self.palette.filter.setFocus()
        self.palette.filter.selectAll()

    def select_first_error(self) -> None:
        """Select the first layer with an error (else a warning); pressed again,
        the next one, so repeated clicks walk through every problem."""
        analysis = self.context.analysis
        problems = list(analysis.all_errors) or [
            (info.id, w) for info in (analysis.layers[i] for i in analysis.order)
            for w in info.warnings]
        if not problems:
            self.status_message("No errors or warnings")
            return
        ids = [lid for lid, _ in problems]
        current = self.context.selected_id
        start = ids.index(current) + 1 if current in ids else 0
        while start < len(ids) and ids[start] == current:
            start += 1
        layer_id, issue = problems[start % len(problems)]
        self.context.select(layer_id)
        self.status_message(issue.message, 10000)
        if layer_id is not None:
            self._focus_properties(layer_id)

    # --- export -----------------------------------------------------------------
    def before_long_operation(self) -> None:
        """Call before training, export or import starts: unsaved edits are
        autosaved now rather than after the debounce."""
        self.autosaver.flush()

    def export_code(self) -> None:
        self.before_long_operation()
        self._show_export_dialog(ExportCodeDialog(self.context.design, self, self._folder()))

    def export_image(self) -> None:
        self.before_long_operation()
        stem = Path(self.file_path).stem if self.file_path else "design"
        path = self._ask_save_path("Export image", "PNG image (*.png);;SVG image (*.svg)",
                                   str(Path(self._folder() or "") / f"{stem}.png"))
        if not path:
            return
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg"):
            path += ".png"
            suffix = ".png"
        try:
            if suffix == ".svg":
                self.canvas.export_svg(path)
            else:
                self.canvas.export_png(path)
        except OSError as e:
            self._show_error("Cannot export the image", f"{path}: {e}")
            return
        self.status_message(f"Exported {Path(path).name}")

    # --- status line ------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.totals_label = QLabel()
        self.totals_label.setObjectName("muted")
        self.issues_button = QPushButton()
        self.issues_button.setObjectName("issuesButton")
        self.issues_button.setFlat(True)
        self.issues_button.setCursor(Qt.PointingHandCursor)
        self.issues_button.setToolTip("Go to the next layer with an error or warning (F8)")
        self.issues_button.clicked.connect(self.select_first_error)
        bar.addPermanentWidget(self.totals_label)
        bar.addPermanentWidget(self.issues_button)

    def _on_analysis(self, analysis: Analysis) -> None:
        errors, warnings = analysis.error_count, analysis.warning_count
        if errors or warnings:
            parts = []
            if errors:
                parts.append(f"✗ {errors} error{'s' if errors != 1 else ''}")
            if warnings:
                parts.append(f"⚠ {warnings} warning{'s' if warnings != 1 else ''}")
            self.issues_button.setText("  ".join(parts))
            colour = "#c62828" if errors else "#8a6d00"
        else:
            self.issues_button.setText("✓ no errors")
            colour = "#2e7d32"
        sheet = f"color: {colour}; font-weight: bold;"
        if self.issues_button.styleSheet() != sheet:   # a new sheet re-polishes the bar
            self.issues_button.setStyleSheet(sheet)
        self.totals_label.setText(
            f"{len(self.context.design.layers)} layers · {analysis.total_params:,} params · "
            f"{human(analysis.total_macs)} MACs · output "
            f"{'×'.join(map(str, analysis.output_shape)) if analysis.output_shape else '?'}")

    def _folder(self) -> str | None:
        return str(Path(self.file_path).parent) if self.file_path else None

    def _file_path(self) -> str | None:
        return self.file_path

    @Slot(object)
    def _on_model_event(self, event: Event) -> None:
        if event.kind in ("name_changed", "reset"):
            self.update_title()

    def reveal_selection(self) -> None:
        self._reveal(self.context.selected_id)

    @Slot(object)
    def _update_palette_fit(self, _changed: object = None) -> None:
        """The palette lists first what fits after the selected layer (once per
        action, and only while the palette is seen)."""
        self.palette_fit.request()

    def _apply_palette_fit(self) -> None:
        self.palette.set_fitting(next_input_shape(self.context.analysis,
                                                  self.context.selected_id))

    @Slot(object)
    def _reveal(self, layer_id: object) -> None:
        """Scroll the canvas to a layer selected elsewhere (table, error button)."""
        if not isinstance(layer_id, str) or layer_id not in self.context.design:
            return
        try:
            item = self.canvas.block_item(layer_id)
        except KeyError:   # the scene has not mirrored it yet
            return
        self.canvas.ensureVisible(item, 40, 40)

    @Slot(bool)
    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    @Slot(int)
    def _on_index_changed(self, _index: int) -> None:
        if self.undo_stack.isClean():   # back to the saved state: nothing to recover
            self.autosaver.discard()
        else:
            self.autosaver.edited()

    def _focus_properties(self, _layer_id: str) -> None:
        self.properties_dock.show()
        self.properties_dock.raise_()

    # --- start-up, recovery, close ------------------------------------------------
    def startup_checks(self) -> None:
        """Once shown: report a file that could not be opened, offer a recovery."""
        if self.startup_error is not None:
            self._show_error("Cannot open the design", self.startup_error)
            self.startup_error = None
        self.offer_recovery()

    def offer_recovery(self) -> bool:
        """After a crash: offer each autosaved design whose window is gone.
        The first one restored replaces this window's design (when it has no
        unsaved changes), the others open in windows of their own. True when
        one was restored here."""
        restored_here = False
        for rec in orphaned_recoveries():
            answer = self._ask_restore_recovery(rec)
            if answer is None:   # later: keep it for the next start
                continue
            if answer:
                if not restored_here and not self.is_modified():
                    self.restore(rec)
                    restored_here = True
                else:
                    self._open_recovered_window(rec)
                    continue
            if rec.path is not None:
                discard_recovery_file(rec.path)
        return restored_here

    def restore(self, rec: Recovery) -> None:
        self.set_design(rec.design, rec.original_path)
        self.undo_stack.resetClean()   # restored work is unsaved work
        self.update_title()
        self.autosaver.edited()
        self.autosaver.flush()   # this window's own recovery file now holds it
        self.status_message("Restored the autosaved design")

    def _open_recovered_window(self, rec: Recovery) -> None:
        from designer.gui.recovered_windows import open_recovered
        open_recovered(self, rec)

    def _apply_pending_tabs(self) -> None:
        # Tabified before the window is first shown, a second tab group leaves a
        # stale, visible tab bar behind (Qt 6.11); so tabs are made at first show.
        for first, dock in self._pending_tabs:
            self.tabifyDockWidget(first, dock)
            first.raise_()   # a new tab does not hide the panel already shown
        self._pending_tabs.clear()

    def showEvent(self, event: QShowEvent) -> None:
        if not self._restored:
            self._restored = True
            self._apply_pending_tabs()
            geometry = self.settings.value("window/geometry")
            state = self.settings.value("window/state")
            if geometry is not None:
                self.restoreGeometry(geometry)
            if self.modes is not None:
                self.modes.restore()
            elif state is not None:
                self.restoreState(state)
            QTimer.singleShot(0, self, self.show_whole_design)   # once the docks have their sizes
            for hook in self.first_show_hooks:
                hook()
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.may_discard():
            event.ignore()
            return
        for guard in list(self.close_guards):
            if not guard():
                event.ignore()
                return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        if self.modes is not None:
            self.modes.save()
        self.settings.sync()
        self.autosaver.stop()
        self.autosaver.discard()   # only this window's file: others may be live
        event.accept()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.autosaver.flush()   # focus lost: the user may be about to kill us
        super().changeEvent(event)

    # --- dialogs (tests replace these) --------------------------------------------
    def _ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel'."""
        box = QMessageBox(QMessageBox.Warning, APP_TITLE,
                          f"Save the changes to “{self.windowTitle().split('[*]')[0]}”?",
                          QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setDefaultButton(QMessageBox.Save)
        answer = box.exec()
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(
            QMessageBox.StandardButton(answer), "cancel")

    def _ask_open_path(self) -> str | None:
        start = str(Path(self.file_path).parent) if self.file_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open design", start, JSON_FILTER)
        return path or None

    def _ask_save_path(self, caption: str, filters: str, suggested: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, caption, suggested, filters)
        return path or None

    def _show_error(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    def _ask_restore_recovery(self, rec: Recovery) -> bool | None:
        """True: restore, False: discard, None: keep it for later."""
        where = f" (from {rec.original_path})" if rec.original_path else ""
        box = QMessageBox(QMessageBox.Question, APP_TITLE,
                          f"CNN Designer did not close normally. Restore the unsaved design "
                          f"“{rec.design.name}”{where}, autosaved at {rec.saved_at}?",
                          QMessageBox.NoButton, self)
        restore = box.addButton("Restore", QMessageBox.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.DestructiveRole)
        box.addButton("Later", QMessageBox.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is restore else False if clicked is discard else None

    def _show_export_dialog(self, dialog: ExportCodeDialog) -> None:
        dialog.exec()

    def show_user_guide(self) -> None:
        help_views.show_user_guide(self)

    def show_shortcuts(self) -> None:
        help_views.show_shortcuts(self)

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_TITLE}",
                          f"<h3>{APP_TITLE} {__version__}</h3>"
                          "<p>Design convolutional networks visually: live shapes, parameter "
                          "counts, cost and receptive fields; train on CIFAR-10; export exact "
                          "PyTorch code.</p><p>PySide6 · pyqtgraph · PyTorch</p>")


def _load_default() -> Design:
    try:
        return load(default_sample())
    except DesignFileError:
        return Design("Untitled")
