"""The property editor: the selected layer's id, type, frozen flag, problems
and parameters (generated from the catalogue's ParamSpecs), or the design's
name and input size when the input or nothing is selected.

Every change is an undo command; the model's events refresh the fields."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QScrollArea, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from designer.core.analysis import Analysis, Issue
from designer.core.catalogue import CATEGORY_COLOURS, fmt_shape, get_type, is_known
from designer.core.model import (INPUT_ID, MAX_ID_LENGTH, SPATIAL_KEYS, DesignError, Event,
                                 InputSpec)
from designer.core.report import human
from designer.gui.commands import RenameLayerCommand, SetParamCommand, apply_fix_command
from designer.gui.context import DesignContext
from designer.gui.deferred import Deferred
from designer.gui.explanation_view import details_label, summary_label
from designer.gui.issues_view import IssuesView
from designer.gui.param_widgets import ParamEditor, guard_wheel, make_editor
from designer.gui.window_commands import (SetDesignNameCommand, SetFrozenCommand,
                                          SetInputSpecCommand)
from designer.io.design_file import MAX_DIMENSION


ID_TIP = "The layer's id (unique); Enter renames it"
RANK_NAMES = {1: "1-D signal (C×L)", 2: "2-D image (C×H×W)", 3: "3-D volume / clip (C×D×H×W)"}
INPUT_TITLES = {1: "Input (one signal)", 2: "Input (one image)", 3: "Input (one volume or clip)"}
INPUT_TIPS = {"channels": "colour channels (3 for RGB, 1 for grey), or signal channels",
              "length": "signal length in samples",
              "depth": "depth: slices of a volume, or frames of a clip",
              "height": "image height in pixels", "width": "image width in pixels"}
DEFAULT_SIZES = {"length": 128, "depth": 16, "height": 32, "width": 32}


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionTitle")
    return label


class Collapsible(QWidget):
    """A header button that folds its body (advanced parameters)."""

    def __init__(self, title: str, body: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.body = body
        self.button = QToolButton()
        self.button.setText(title)
        self.button.setCheckable(True)
        self.button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.RightArrow)
        self.button.setAutoRaise(True)
        self.button.toggled.connect(self.set_open)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(body)
        body.setVisible(False)

    def set_open(self, open_: bool) -> None:
        self.button.setArrowType(Qt.DownArrow if open_ else Qt.RightArrow)
        self.body.setVisible(open_)


@dataclass
class _Form:
    """One page of the editor: the design's, or one layer type's. Built once and
    refilled for each layer of that type (building the widgets on every selection
    change cost most of a click)."""
    widget: QWidget
    info_label: QLabel
    issues: IssuesView
    editors: dict[str, ParamEditor] = field(default_factory=dict)
    id_edit: QLineEdit | None = None
    frozen_box: QCheckBox | None = None
    name_edit: QLineEdit | None = None
    input_boxes: dict[str, QSpinBox] = field(default_factory=dict)  # every size key
    rank_box: QComboBox | None = None
    input_title: QLabel | None = None
    input_rows: QFormLayout | None = None
    folds: list[tuple[Collapsible, str]] = field(default_factory=list)  # (fold, open attr)


DESIGN_PAGE = ""   # the key of the design's form (layer types are never empty)


class PropertyEditor(QScrollArea):
    message = Signal(str)   # for the status bar: edits refused here

    def __init__(self, context: DesignContext, undo_stack: QUndoStack,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context, self.undo_stack = context, undo_stack
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.layer_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.advanced_open = False
        self.explanation_open = False
        self.rename_problem: str | None = None
        self._issue_layers: dict[str, str] = {}
        self.id_edit: QLineEdit | None = None
        self.frozen_box: QCheckBox | None = None
        self.name_edit: QLineEdit | None = None
        self.input_boxes: dict[str, QSpinBox] = {}
        self.rank_box: QComboBox | None = None
        self.info_label = QLabel()
        self.issues = IssuesView()
        self._forms: dict[str, _Form] = {}
        self._form: _Form | None = None
        page = QWidget()
        self._pages = QVBoxLayout(page)
        self._pages.setContentsMargins(8, 8, 8, 8)
        self._pages.setSpacing(6)
        self._pages.addStretch(1)
        self.setWidget(page)
        context.selection_changed.connect(self._on_selection)
        context.model_event.connect(self._on_model_event)
        context.analysis_changed.connect(self._on_analysis)
        # the issue rows cost most of an edit: once per action, only when seen
        self.issues_refresh = Deferred(self, self._show_issues)
        self.rebuild()

    # --- building ---------------------------------------------------------
    def rebuild(self) -> None:
        """Show the page of the selected layer (or of the design) with its values."""
        sid = self.context.selected_id
        before = self.layer_id
        self.layer_id = sid if sid is not None and sid in self.context.design else None
        key = DESIGN_PAGE if self.layer_id is None \
            else self.context.design.layer(self.layer_id).type
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = self._build(key)
            self._pages.insertWidget(self._pages.count() - 1, form.widget)
        if self._form is not None and self._form is not form:
            self._form.widget.hide()
        self._form = form
        self.editors, self.input_boxes = form.editors, form.input_boxes
        self.id_edit, self.name_edit = form.id_edit, form.name_edit
        self.info_label, self.issues = form.info_label, form.issues
        self.rank_box = form.rank_box
        if self.layer_id is None:
            self._fill_design(form)
        else:
            self._fill_layer(form, self.layer_id)
        form.widget.show()
        if self.layer_id != before:
            self.verticalScrollBar().setValue(0)
        self._on_analysis(self.context.analysis)

    def _build(self, key: str) -> _Form:
        widget = QWidget()
        layout = QVBoxLayout(widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        info_label = QLabel()
        info_label.setObjectName("muted")
        info_label.setWordWrap(True)
        form = _Form(widget, info_label, IssuesView())
        if key == DESIGN_PAGE:
            self._build_design(form, layout)
        else:
            self._build_layer(form, layout, key)
        return form

    def _fill_design(self, form: _Form) -> None:
        """The design's name and input; the size boxes of the input's rank show."""
        design = self.context.design
        assert form.name_edit is not None and form.rank_box is not None
        assert form.input_title is not None and form.input_rows is not None
        form.name_edit.setText(design.name)
        rank = design.input.rank
        form.input_title.setText(INPUT_TITLES.get(rank, "Input"))
        form.rank_box.blockSignals(True)
        form.rank_box.setCurrentIndex(rank - 1)
        form.rank_box.blockSignals(False)
        keys = ("channels",) + design.input.keys
        for key, box in form.input_boxes.items():
            form.input_rows.setRowVisible(box, key in keys)
        self.input_boxes = {k: form.input_boxes[k] for k in keys}
        for key, box in self.input_boxes.items():
            box.blockSignals(True)
            box.setValue(getattr(design.input, key))
            box.blockSignals(False)

    def _fill_layer(self, form: _Form, layer_id: str) -> None:
        layer = self.context.design.layer(layer_id)
        assert form.id_edit is not None
        form.id_edit.setText(layer.id)
        form.id_edit.setToolTip(ID_TIP)   # a refused rename belonged to the layer shown before
        if form.id_edit.property("invalid"):
            form.id_edit.setProperty("invalid", False)
            form.id_edit.style().polish(form.id_edit)
        for name, editor in form.editors.items():
            editor.show_value(layer.params.get(name))
        info = self.context.analysis.layers.get(layer_id)
        self.frozen_box = None
        if form.frozen_box is not None:
            shown = layer.frozen or (info is not None and info.params > 0)
            form.frozen_box.setVisible(shown)
            form.frozen_box.blockSignals(True)
            form.frozen_box.setChecked(layer.frozen)
            form.frozen_box.blockSignals(False)
            self.frozen_box = form.frozen_box if shown else None
        for fold, attr in form.folds:
            fold.button.setChecked(getattr(self, attr))

    def _build_design(self, form: _Form, layout: QVBoxLayout) -> None:
        header = QLabel("Design")
        header.setObjectName("layerTitle")
        layout.addWidget(header)
        rows = QFormLayout()
        form.name_edit = QLineEdit()
        form.name_edit.setToolTip("The design's name (shown in the title and exported code)")
        form.name_edit.editingFinished.connect(self._commit_name)
        rows.addRow("Name", form.name_edit)
        layout.addLayout(rows)
        form.input_title = _title(INPUT_TITLES[2])
        layout.addWidget(form.input_title)
        inputs = form.input_rows = QFormLayout()
        form.rank_box = QComboBox()
        for r in (1, 2, 3):
            form.rank_box.addItem(RANK_NAMES[r], r)
        form.rank_box.setToolTip("1-D: signals (Conv1d...); 2-D: images (Conv2d...); "
                                 "3-D: volumes and video clips (Conv3d...)")
        guard_wheel(form.rank_box)
        form.rank_box.currentIndexChanged.connect(self._commit_rank)
        inputs.addRow("Rank", form.rank_box)
        for key in INPUT_TIPS:
            box = QSpinBox()
            box.setRange(1, MAX_DIMENSION)
            box.setKeyboardTracking(False)
            box.setToolTip(INPUT_TIPS[key])
            guard_wheel(box)
            box.valueChanged.connect(self._commit_input)
            form.input_boxes[key] = box
            inputs.addRow(key.capitalize(), box)
        layout.addLayout(inputs)
        layout.addWidget(form.issues)
        layout.addWidget(form.info_label)

    def _build_layer(self, form: _Form, layout: QVBoxLayout, type_name: str) -> None:
        known = is_known(type_name)
        top = QHBoxLayout()
        form.id_edit = QLineEdit()
        form.id_edit.setObjectName("layerTitle")
        form.id_edit.setMaxLength(MAX_ID_LENGTH)
        form.id_edit.setToolTip(ID_TIP)
        form.id_edit.editingFinished.connect(self._commit_rename)
        badge = QLabel(type_name)
        badge.setObjectName("typeBadge")
        category = get_type(type_name).category if known else "?"
        badge.setStyleSheet(f"background: {CATEGORY_COLOURS.get(category, '#888')};")
        badge.setToolTip(f"{category}: {get_type(type_name).help}" if known else "unknown type")
        top.addWidget(form.id_edit, 1)
        top.addWidget(badge)
        layout.addLayout(top)
        layout.addWidget(form.info_label)
        layout.addWidget(form.issues)
        if not known:
            return
        t = get_type(type_name)
        self._add_explanation(form, layout, type_name)
        basic, advanced = QFormLayout(), QFormLayout()
        for spec in t.visible_params:
            editor = make_editor(spec)
            editor.committed.connect(lambda v, name=spec.name: self._commit_param(name, v))
            form.editors[spec.name] = editor
            label = QLabel(spec.name + ("" if not spec.required else " *"))
            label.setToolTip(editor.toolTip())
            (advanced if spec.advanced else basic).addRow(label, editor)
        if t.visible_params:
            layout.addWidget(_title("Parameters"))
            layout.addLayout(basic)
        form.frozen_box = QCheckBox("Frozen (not trained)")
        form.frozen_box.setToolTip("Keep this layer's weights fixed while training")
        form.frozen_box.toggled.connect(self._commit_frozen)
        layout.addWidget(form.frozen_box)
        if advanced.rowCount():
            body = QWidget()
            body.setLayout(advanced)
            fold = Collapsible("Advanced", body)
            fold.button.toggled.connect(lambda on: setattr(self, "advanced_open", on))
            form.folds.append((fold, "advanced_open"))
            layout.addWidget(fold)

    def _add_explanation(self, form: _Form, layout: QVBoxLayout, type_name: str) -> None:
        summary = summary_label(type_name)
        if summary is None:
            return
        layout.addWidget(summary)
        fold = Collapsible(f"More about {type_name}", details_label(type_name))
        fold.setObjectName("explanationFold")
        fold.button.toggled.connect(lambda on: setattr(self, "explanation_open", on))
        form.folds.append((fold, "explanation_open"))
        layout.addWidget(fold)

    # --- model -> view ----------------------------------------------------
    @Slot(object)
    def _on_selection(self, _layer_id: object) -> None:
        self.rebuild()

    @Slot(object)
    def _on_model_event(self, event: Event) -> None:
        if event.kind == "reset":
            self.rebuild()
        elif self.layer_id is None:
            if event.kind == "name_changed" and self.name_edit is not None:
                self.name_edit.setText(self.context.design.name)
            elif event.kind == "input_changed" and self._form is not None:
                self._fill_design(self._form)
        elif event.kind == "layer_renamed" and event.other == self.layer_id:
            self.layer_id = event.layer_id
            if self.id_edit is not None:
                self.id_edit.setText(event.layer_id or "")
        elif event.layer_id == self.layer_id and self.layer_id in self.context.design:
            layer = self.context.design.layer(self.layer_id)
            if event.kind == "params_changed":
                for name, editor in self.editors.items():
                    editor.show_value(layer.params.get(name))
            elif event.kind == "frozen_changed" and self.frozen_box is not None:
                self.frozen_box.blockSignals(True)
                self.frozen_box.setChecked(layer.frozen)
                self.frozen_box.blockSignals(False)

    @Slot(object)
    def _on_analysis(self, analysis: Analysis) -> None:
        self.issues_refresh.request()
        if self.layer_id is None or self.layer_id not in analysis.layers:
            self.info_label.setText(
                f"{len(self.context.design.layers)} layers · "
                f"{analysis.total_params:,} parameters · {human(analysis.total_macs)} MACs · "
                f"output {fmt_shape(analysis.output_shape)}")
            return
        info = analysis.layers[self.layer_id]
        layer = self.context.design.layer(self.layer_id)
        shapes = ", ".join(fmt_shape(s) for s in info.input_shapes)
        source = (f"from {', '.join(layer.inputs)}" + (f" ({shapes})" if shapes else "")
                  if layer.inputs else "no input")
        self.info_label.setText(f"{source} → {fmt_shape(info.output_shape)} · "
                                f"{info.params:,} params")

    def _show_issues(self) -> None:
        analysis = self.context.analysis
        if self.layer_id is None or self.layer_id not in analysis.layers:
            self._show_design_issues(analysis)
        else:
            info = analysis.layers[self.layer_id]
            self.issues.show_issues(info.errors + info.warnings, self._apply_fix)

    def _show_design_issues(self, analysis: Analysis) -> None:
        """The design page lists every error, each named by its layer, fixable here."""
        self._issue_layers: dict[str, str] = {}
        shown = list(analysis.errors)
        for lid, issue in analysis.all_errors if analysis.error_count else ():
            if lid is None:
                continue
            named = Issue(issue.severity, f"{lid}: {issue.message}", issue.fix)
            self._issue_layers[named.message] = lid
            shown.append(named)
        self.issues.show_issues(shown, self._apply_design_fix)

    def _apply_design_fix(self, issue: Issue) -> None:
        lid = self._issue_layers.get(issue.message)
        if lid is not None and issue.fix is not None and lid in self.context.design:
            self.undo_stack.push(apply_fix_command(self.context.design, lid, issue.fix))

    # --- view -> commands -------------------------------------------------
    def _commit_param(self, name: str, value: Any) -> None:
        if self.layer_id is None or self.layer_id not in self.context.design:
            return
        if self.context.design.layer(self.layer_id).params.get(name) == value:
            return
        self.undo_stack.push(SetParamCommand(self.context.design, self.layer_id, name, value))

    def _commit_rename(self) -> None:
        if self.layer_id is None or self.id_edit is None:
            return
        new = self.id_edit.text().strip()
        if new == self.layer_id:
            return
        design = self.context.design
        problem = None
        if not new:
            problem = "an id cannot be empty"
        elif new == INPUT_ID:
            problem = "'input' is reserved for the design input"
        elif new in design:
            problem = f"a layer with id '{new}' already exists"
        if problem:
            self.id_edit.setProperty("invalid", True)
            self.id_edit.setToolTip(problem)
            self.id_edit.style().polish(self.id_edit)
            self.rename_problem = problem
            self.message.emit(f"Cannot rename: {problem}")
            return
        self.id_edit.setProperty("invalid", False)
        self.id_edit.style().polish(self.id_edit)
        self.rename_problem = None
        try:
            self.undo_stack.push(RenameLayerCommand(design, self.layer_id, new))
        except DesignError as e:  # the model has the last word
            self.id_edit.setToolTip(str(e))
            self.message.emit(f"Cannot rename: {e}")

    def _commit_frozen(self, frozen: bool) -> None:
        if self.layer_id is not None:
            self.undo_stack.push(SetFrozenCommand(self.context.design, self.layer_id, frozen))

    def _commit_name(self) -> None:
        if self.name_edit is None:
            return
        name = self.name_edit.text().strip() or "Untitled"
        if name != self.context.design.name:
            self.undo_stack.push(SetDesignNameCommand(self.context.design, name))

    def _commit_input(self) -> None:
        keys = ("channels",) + self.context.design.input.keys
        spec = InputSpec.from_shape([self.input_boxes[k].value() for k in keys])
        if spec.shape != self.context.design.input.shape:
            self.undo_stack.push(SetInputSpecCommand(self.context.design, spec))

    def _commit_rank(self) -> None:
        """Another rank keeps the channels and the sizes both ranks share
        (height and width between 2-D and 3-D); the others take a default."""
        if self.rank_box is None:
            return
        rank = self.rank_box.currentData()
        old = self.context.design.input
        if rank == old.rank:
            return
        sizes = {k: v for k, v in zip(old.keys, old.spatial)}
        if old.rank == 1:
            sizes["height"] = sizes["width"] = DEFAULT_SIZES["height"]
        shape = [old.channels] + [sizes.get(k, DEFAULT_SIZES[k]) for k in SPATIAL_KEYS[rank]]
        self.undo_stack.push(SetInputSpecCommand(self.context.design,
                                                 InputSpec.from_shape(shape)))

    def _apply_fix(self, issue: Issue) -> None:
        if self.layer_id is None or issue.fix is None:
            return
        self.undo_stack.push(apply_fix_command(self.context.design, self.layer_id, issue.fix))
