"""Work around a reference-count bug of PySide6 6.12 on Python < 3.12.

Its bindings return None (and True/False) from C++ calls without taking a
new reference, as if they were immortal (they are from Python 3.12 on). Every
void call (QPainter.setPen, QRectF.setWidth, ...) therefore takes one
reference away from None; painting a canvas makes thousands of such calls
and the interpreter soon aborts with "none_dealloc: deallocating None".

make_immortal() gives these singletons a reference count so large that no
session can exhaust it: what CPython 3.12 does by design (PEP 683).
"""
from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40
_done = False


def make_immortal() -> bool:
    """Idempotent; returns True when the counts were raised."""
    global _done
    if _done or sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):
        return False
    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))
        count.value += RESERVE
    _done = True
    return True
