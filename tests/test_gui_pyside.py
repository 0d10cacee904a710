"""The PySide6 the project pins does not leak references to None/True."""
from __future__ import annotations

import sys

from designer.gui import pyside_fix


def test_pinned_pyside_returns_owned_references():
    # PySide6 6.12.0 on Python 3.11 fails this; pyproject.toml keeps it below 6.12.
    assert not pyside_fix.leaks()


def test_install_is_a_no_op_where_nothing_leaks():
    before = sys.getrefcount(None)
    assert pyside_fix.install() is False
    assert abs(sys.getrefcount(None) - before) < 1000
