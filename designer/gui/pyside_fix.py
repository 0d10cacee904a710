"""Work around reference-count bugs of PySide6 6.12 on Python < 3.12.

Measured here (PySide6 6.12.0, Python 3.11.7): every Qt method that returns
None (void methods such as QPainter.drawLine, QWidget.setVisible,
processEvents, and nullable getters such as QObject.parent()) and every
SignalInstance.emit() (which returns True) hands back a reference it does not
own. Each call takes one reference away from None or True; pyqtgraph paints
with hundreds of such calls per frame, so after seconds to minutes the
interpreter aborts with "none_dealloc" / "bool_dealloc". Python 3.12 made
these singletons immortal, which is what the bindings now assume.

install() checks for the leak and, where it is present, gives None, True and
False a refcount so large it can never reach zero (what 3.12 does). These
objects are static and never freed, so this changes nothing else.
Idempotent; designer/gui/__init__.py installs it, so every window, test and
benchmark is covered. pyproject.toml keeps PySide6 below 6.12, where leaks()
finds nothing and install() changes nothing: this guards users who force a
newer PySide6 on Python 3.11.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

BALLAST = 1 << 40     # references added; ~10^12 leaked calls before any danger
_installed = False


class _Probe(QObject):
    ping = Signal()


def leaks() -> bool:
    """True when Qt calls return None or True without a reference of their own."""
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(8):
        probe.parent()
        probe.ping.emit()
    return sys.getrefcount(None) < none_before or sys.getrefcount(True) < true_before


def _add_references(obj: object, count: int) -> None:
    # CPython < 3.12: ob_refcnt is the first Py_ssize_t of every object
    ctypes.c_ssize_t.from_address(id(obj)).value += count


def install() -> bool:
    """Protect None/True/False if this PySide leaks them; True when applied."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or not leaks():
        return False
    for obj in (None, True, False):
        _add_references(obj, BALLAST)
    _installed = True
    return True
