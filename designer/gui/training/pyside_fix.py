"""Work around a reference-count bug in PySide6 6.12 on Python < 3.12:
SignalInstance.emit() returns True/False without a new reference, so every
emit from Python (ours and pyqtgraph's) takes one reference away from True;
after a few hundred emits the interpreter aborts with "bool_dealloc".

install() measures the leak once and, only if it is there, wraps emit to give
the reference back. Idempotent; harmless where the bug is fixed. It belongs
at application start-up (designer/gui), but the training panel, which emits
per training step, installs it on import so that it is never missing.
"""
from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_MARK = "_designer_emit_fix"


class _Probe(QObject):
    ping = Signal()


def emit_leaks() -> bool:
    """True when one emit() costs True (or False) a reference."""
    probe = _Probe()
    before_t, before_f = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(4):
        probe.ping.emit()
    return sys.getrefcount(True) < before_t or sys.getrefcount(False) < before_f


def install() -> bool:
    """Patch SignalInstance.emit if it leaks; returns True when patched."""
    if getattr(SignalInstance, _MARK, False):
        return True
    if sys.version_info >= (3, 12) or not emit_leaks():
        return False
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None

    def emit(self: SignalInstance, *args: Any) -> Any:
        result = original(self, *args)
        if result is True or result is False:
            incref(result)
        return result

    SignalInstance.emit = emit  # type: ignore[method-assign]
    setattr(SignalInstance, _MARK, True)
    return True
