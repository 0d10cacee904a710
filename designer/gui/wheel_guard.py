"""The mouse wheel changes a spin box or combo box only when it has the focus.

Without this, scrolling a panel of settings changes whichever box passes under
the pointer (a learning rate silently became 0.000000). Installed once on the
application, so every panel and every parameter editor gets it; an unfocused
box passes the wheel on to the scroll area around it, which scrolls.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox,
                               QWidget)

BOXES = (QAbstractSpinBox, QComboBox)


def _box(obj: QObject) -> QWidget | None:
    """The spin/combo box that a wheel event on `obj` would change (its line edit too)."""
    if isinstance(obj, BOXES):
        return obj
    parent = obj.parent() if isinstance(obj, QWidget) else None
    return parent if isinstance(parent, BOXES) else None


def _focused(box: QWidget) -> bool:
    if box.hasFocus():
        return True
    focus = QApplication.focusWidget()
    return focus is not None and box.isAncestorOf(focus)


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    w = widget.parentWidget()
    while w is not None:
        if isinstance(w, QAbstractScrollArea) and not isinstance(w, BOXES):
            return w
        w = w.parentWidget()
    return None


class WheelGuard(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(obj, BOXES):
            if obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:   # the wheel must not focus it
                obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            return False
        if kind != QEvent.Type.Wheel:
            return False
        box = _box(obj)
        if box is None or _focused(box):
            return False
        area = _scroll_area(box)
        if area is not None:
            assert isinstance(event, QWheelEvent)
            port = area.viewport()
            where = QPointF(port.mapFromGlobal(event.globalPosition().toPoint()))
            moved = QWheelEvent(where, event.globalPosition(), event.pixelDelta(),
                                event.angleDelta(), event.buttons(), event.modifiers(),
                                event.phase(), event.inverted())
            QApplication.sendEvent(port, moved)
        return True


_guard: WheelGuard | None = None


def install() -> None:
    """Once per application (later calls do nothing)."""
    global _guard
    app = QApplication.instance()
    if app is None or _guard is not None:
        return
    _guard = WheelGuard(app)
    app.installEventFilter(_guard)
