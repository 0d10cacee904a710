"""The dependency direction of DESIGN.md §1, read from the source: gui -> (nn | export
| io) -> core; only nn (and gui, lazily) import torch; only gui imports Qt."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "designer"
ALLOWED = {   # designer sub-packages each may import
    "core": {"core"},
    "io": {"core", "io"},
    "export": {"core", "export"},
    "nn": {"core", "io", "nn"},   # checkpoints carry the design file's JSON
}
THIRD_PARTY_BANNED = {
    "core": {"torch", "PySide6", "pyqtgraph"},
    "io": {"torch", "PySide6", "pyqtgraph"},
    "export": {"torch", "PySide6", "pyqtgraph"},
    "nn": {"PySide6", "pyqtgraph"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_follow_the_dependency_direction(package: str) -> None:
    wrong = []
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "designer" and len(parts) > 1 and parts[1] not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
            if parts[0] in THIRD_PARTY_BANNED[package]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)
