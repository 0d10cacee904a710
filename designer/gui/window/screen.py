"""Fitting the window to the screen it opens on."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

FRAME_ALLOWANCE = QSize(16, 40)   # title bar and borders, before the window manager says


def fit_to_screen(window: QWidget, available: QRect | None = None) -> QRect:
    """Shrink the window to fit the available screen area (never past its
    minimum size) and centre it there; returns the geometry it was given."""
    if available is None:
        screen = window.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return window.geometry()
        available = screen.availableGeometry()
    room = available.size() - FRAME_ALLOWANCE
    minimum = window.minimumSizeHint()
    width = max(min(window.width(), room.width()), min(minimum.width(), room.width()))
    height = max(min(window.height(), room.height()), min(minimum.height(), room.height()))
    title = FRAME_ALLOWANCE.height() - FRAME_ALLOWANCE.width() // 2   # above the client area
    x = available.x() + max(0, (available.width() - width) // 2)
    y = available.y() + title + max(0, (room.height() - height) // 2)
    window.setGeometry(x, y, width, height)
    return window.geometry()
