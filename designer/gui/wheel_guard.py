"""The mouse wheel changes a spin box or combo box only when it has the focus.

Without this, scrolling a panel of settings changes whichever box passes under
the pointer (a learning rate silently became 0.000000). The window guards every
panel it adds (MainWindow.add_panel) and the parameter editors guard their own
boxes; an unfocused box passes the wheel on to the scroll area around it, which
scrolls.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox,
                               QLineEdit, QWidget)

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
    """Installed on each box (an application-wide filter would see every event)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel:
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


def guard(root: QWidget) -> None:
    """Every spin and combo box under `root` (and root itself) takes the wheel only
    when focused; call again after adding boxes (a box is guarded once)."""
    global _guard
    if _guard is None:
        _guard = WheelGuard(QApplication.instance())
    boxes = [root] if isinstance(root, BOXES) else []
    boxes += root.findChildren(QAbstractSpinBox) + root.findChildren(QComboBox)
    for box in boxes:
        if box.property("wheel_guarded"):
            continue
        box.setProperty("wheel_guarded", True)
        if box.focusPolicy() == Qt.FocusPolicy.WheelFocus:   # the wheel must not focus it
            box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        box.installEventFilter(_guard)
        line = box.findChild(QLineEdit)
        if line is not None:
            line.installEventFilter(_guard)
