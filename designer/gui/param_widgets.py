"""One editor widget per ParamSpec kind. Each shows a value and emits
`committed(value)` when the user finishes a change; `None` means "back to the
default" (the key is removed from the layer's params).

Text forms accepted: "3", "3, 5", "3x5", "[3, 5]"; adaptive sizes also
"7, none"; empty means default where the parameter is optional.
"""
from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLineEdit,
                               QSpinBox, QWidget)

from designer.core import params as P
from designer.core.params import ParamError, ParamSpec
from designer.gui import wheel_guard

INT_MAX = 2**31 - 1


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,x×\[\]()]+", text.strip().lower()) if w]


def _int(word: str) -> int:
    try:
        return int(word)
    except ValueError:
        raise ValueError(f"'{word}' is not a whole number") from None


def parse_text(kind: str, text: str) -> Any:
    """Text of a line editor -> a JSON-form value (None: default). ValueError if unreadable."""
    words = _words(text)
    if not words:
        if kind in (P.OPT_PAIR, P.OPT_INT, P.OPT_FLOAT, P.SHAPE):
            return None
        raise ValueError("a value is needed")
    if kind in (P.OPT_FLOAT, P.FLOAT):
        if len(words) != 1:
            raise ValueError("one number is needed")
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"'{text.strip()}' is not a number") from None
        if not math.isfinite(value):
            raise ValueError("the number must be finite")
        return value
    if kind == P.ADAPTIVE:
        vals = [None if w in ("none", "null", "-") else _int(w) for w in words]
    else:
        vals = [_int(w) for w in words]
    if kind in (P.SHAPE, P.SECTIONS):
        return vals[0] if len(vals) == 1 else vals
    if kind == P.OPT_INT:
        if len(vals) != 1:
            raise ValueError("one whole number is needed")
        return vals[0]
    if len(vals) == 1 and vals[0] is not None:
        return vals[0]
    if len(vals) == 1:
        return [None, None]
    if len(vals) != 2:
        raise ValueError("give one number or two (height, width)")
    return vals


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join("none" if v is None else format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def guard_wheel(widget: QWidget) -> None:
    """Scrolling the property list must not change a value by accident (see
    wheel_guard: the same rule as every panel of the window)."""
    wheel_guard.guard(widget)


class ParamEditor(QWidget):
    """Base: subclasses build the widget and implement show_value/commit."""
    committed = Signal(object)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        tip = spec.help + (f" ({spec.describe_range()})" if spec.describe_range() else "")
        if not spec.required:
            tip += f"; default {spec.default!r}"
        self.setToolTip(tip)

    def show_value(self, value: Any) -> None:
        raise NotImplementedError

    def effective(self, given: Any) -> Any:
        """What to display: the given value or the default (the suggestion if required)."""
        if given is not None:
            return given
        return self.spec.initial if self.spec.required else self.spec.default


class IntEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = QSpinBox()
        self.box.setKeyboardTracking(False)   # commit on Enter/focus-out/arrows, not per key
        lo = -INT_MAX if spec.minimum is None else int(spec.minimum)
        hi = INT_MAX if spec.maximum is None else int(spec.maximum)
        self.box.setRange(lo, hi)
        self.box.setToolTip(self.toolTip())
        guard_wheel(self.box)
        self.layout_.addWidget(self.box)
        self.box.valueChanged.connect(lambda v: self.committed.emit(int(v)))

    def show_value(self, value: Any) -> None:
        value = self.effective(value)
        self.box.blockSignals(True)
        # not a number (a value from a file): what a new box shows, not the last layer's
        ok = isinstance(value, int) and not isinstance(value, bool)
        self.box.setValue(value if ok else 0)
        self.box.blockSignals(False)


class FloatSpinBox(QDoubleSpinBox):
    """Shows 1e-05 and 0.1 alike (%g) and accepts scientific notation."""

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        t = text.strip()
        if not t or t in ("-", ".", "-.") or t.lower().endswith(("e", "e-", "e+")):
            return (QValidator.Intermediate, text, pos)
        try:
            v = float(t)
        except ValueError:
            return (QValidator.Invalid, text, pos)
        ok = self.minimum() <= v <= self.maximum()
        return (QValidator.Acceptable if ok else QValidator.Intermediate, text, pos)


class FloatEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = FloatSpinBox()
        self.box.setKeyboardTracking(False)
        self.box.setDecimals(12)
        self.box.setRange(-1e12 if spec.minimum is None else spec.minimum,
                          1e12 if spec.maximum is None else spec.maximum)
        default = spec.default if isinstance(spec.default, float) else 0.1
        self.box.setSingleStep(10 ** math.floor(math.log10(abs(default)))
                               if default else 0.1)
        self.box.setToolTip(self.toolTip())
        guard_wheel(self.box)
        self.layout_.addWidget(self.box)
        self.box.valueChanged.connect(lambda v: self.committed.emit(float(v)))

    def show_value(self, value: Any) -> None:
        value = self.effective(value)
        self.box.blockSignals(True)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        self.box.setValue(float(value) if ok else 0.0)
        self.box.blockSignals(False)


class BoolEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = QCheckBox()
        self.box.setToolTip(self.toolTip())
        self.layout_.addWidget(self.box)
        self.box.toggled.connect(lambda v: self.committed.emit(bool(v)))

    def show_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(self.effective(value)))
        self.box.blockSignals(False)


class ChoiceEditor(ParamEditor):
    """CHOICE, and OPT_BOOL as default / true / false."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = QComboBox()
        self.box.setToolTip(self.toolTip())
        if spec.kind == P.OPT_BOOL:
            self.values: list[Any] = [None, True, False]
            labels = ["default", "true", "false"]
        else:
            self.values = list(spec.choices)
            labels = [str(c) for c in spec.choices]
        self.box.addItems(labels)
        guard_wheel(self.box)
        self.layout_.addWidget(self.box)
        self.box.activated.connect(lambda i: self.committed.emit(self.values[i]))

    def show_value(self, value: Any) -> None:
        value = value if self.spec.kind == P.OPT_BOOL else self.effective(value)
        self.box.blockSignals(True)
        self.box.setCurrentIndex(self.values.index(value) if value in self.values else 0)
        self.box.blockSignals(False)


class TextEditor(ParamEditor):
    """Pairs, optional numbers, adaptive sizes and shapes as text."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QLineEdit()
        self.edit.setToolTip(self.toolTip())
        if not spec.required and spec.default is None:
            meaning = re.search(r"\(empty: ([^)]*)\)", spec.help)
            self.edit.setPlaceholderText(f"default: {meaning.group(1)}" if meaning else "default")
        self.layout_.addWidget(self.edit)
        self.edit.editingFinished.connect(self._finish)
        self._shown = ""

    def show_value(self, value: Any) -> None:
        text = format_value(value if value is not None or self.spec.required
                            else self.spec.default)
        self._shown = text
        self.edit.setText(text)
        self._mark(None)

    def _mark(self, problem: str | None) -> None:
        self.edit.setToolTip(problem or self.toolTip())
        if bool(self.edit.property("invalid")) == (problem is not None):
            return   # (re-polishing is slow, and show_value runs on every selection)
        self.edit.setProperty("invalid", problem is not None)
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)

    def _finish(self) -> None:
        text = self.edit.text()
        if text == self._shown:
            return
        try:
            value = parse_text(self.spec.kind, text)
        except ValueError as e:
            self._mark(f"{self.spec.name}: {e}")
            return
        self._mark(None)
        self._shown = text
        self.committed.emit(value)


class PaddingEditor(ParamEditor):
    """A number / [h, w] field plus a same / valid choice."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.mode = QComboBox()
        self.mode.addItems(["number", "same", "valid"])
        self.mode.setToolTip(self.toolTip())
        guard_wheel(self.mode)
        self.text = TextEditor(ParamSpec(spec.name, P.PAIR, spec.default, spec.help,
                                         spec.minimum, spec.maximum))
        self.layout_.addWidget(self.mode)
        self.layout_.addWidget(self.text, 1)
        self.mode.activated.connect(self._mode_changed)
        self.text.committed.connect(lambda v: self.committed.emit(v))

    def show_value(self, value: Any) -> None:
        value = self.effective(value)
        self.mode.blockSignals(True)
        if value in ("same", "valid"):
            self.mode.setCurrentText(value)
            self.text.show_value(0)
            self.text.setEnabled(False)
        else:
            self.mode.setCurrentText("number")
            self.text.setEnabled(True)
            self.text.show_value(value)
        self.mode.blockSignals(False)

    def _mode_changed(self, index: int) -> None:
        mode = self.mode.itemText(index)
        self.text.setEnabled(mode == "number")
        if mode == "number":
            try:
                self.committed.emit(parse_text(P.PAIR, self.text.edit.text()))
            except ValueError:
                self.committed.emit(0)
        else:
            self.committed.emit(mode)


EDITORS: dict[str, type[ParamEditor]] = {
    P.INT: IntEditor, P.FLOAT: FloatEditor, P.BOOL: BoolEditor, P.CHOICE: ChoiceEditor,
    P.OPT_BOOL: ChoiceEditor, P.PADDING: PaddingEditor, P.PAIR: TextEditor,
    P.OPT_PAIR: TextEditor, P.ADAPTIVE: TextEditor, P.OPT_INT: TextEditor,
    P.OPT_FLOAT: TextEditor, P.SHAPE: TextEditor, P.SECTIONS: TextEditor,
}


def make_editor(spec: ParamSpec) -> ParamEditor:
    return EDITORS.get(spec.kind, TextEditor)(spec)


def check_value(spec: ParamSpec, value: Any) -> str | None:
    """The spec's complaint about a value, or None (the analysis reports it too)."""
    if value is None:
        return None
    try:
        spec.check(value)
    except ParamError as e:
        return str(e)
    return None
