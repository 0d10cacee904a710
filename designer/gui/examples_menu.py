"""Help > Examples (the tutorials' worked examples as ready designs, the
learn-a-kernel demo first) and Help > Layer Reference. Added to the window's
existing Help menu, before About."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from designer.core.conv_explorer import EXPLORABLE
from designer.gui.style import SAMPLES

if TYPE_CHECKING:
    from designer.gui.main_window import MainWindow

EXAMPLES = SAMPLES / "examples"
LEARN_KERNEL_TITLE = "Learn a kernel: [1, −1] by gradient descent"


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def example_info(path: Path) -> tuple[str, str]:
    """(title, the line saying what to look at) from the file's design object."""
    try:
        design = json.loads(path.read_text(encoding="utf-8"))["design"]
        return str(design["name"]), str(design.get("look_at", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return path.stem, ""


def _help_menu(window: "MainWindow") -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == "Help":
            return menu
    return None


def install_help_extras(window: "MainWindow") -> QMenu:
    """Help > Examples and Help > Layer Reference; returns the Examples menu."""
    help_menu = _help_menu(window) or window.menuBar().addMenu("&Help")
    first = help_menu.actions()[0] if help_menu.actions() else None
    examples = QMenu("&Examples", help_menu)
    examples.setObjectName("examplesMenu")
    examples.setToolTipsVisible(True)
    learn = examples.addAction(LEARN_KERNEL_TITLE)
    learn.setToolTip("Watch a 1×2 convolution learn the edge detector from images and "
                     "their edge maps")
    learn.triggered.connect(lambda _c=False: open_learn_kernel(window))
    examples.addSeparator()
    for path in example_files():
        title, look_at = example_info(path)
        act = examples.addAction(title)
        act.setToolTip(look_at)
        act.setStatusTip(look_at)
        act.triggered.connect(lambda _c=False, p=path: open_example(window, p))
    reference = QAction("&Layer Reference…", help_menu)
    reference.triggered.connect(lambda _c=False: open_reference(window))
    help_menu.insertMenu(first, examples)
    help_menu.insertAction(first, reference)
    if first is not None:
        help_menu.insertSeparator(first)
    window.examples_menu = examples   # type: ignore[attr-defined]
    return examples


def open_example(window: "MainWindow", path: Path) -> bool:
    """Open the example as an untitled copy, select the layer it is about and
    put its 'what to look at' line in the status bar."""
    if not window.files.open_sample(path):
        return False
    design = window.context.design
    look_at = str(design.extra.get("look_at", ""))
    target = next((lay.id for lay in design.layers if lay.type in EXPLORABLE), None)
    if target is None or not window.context.analysis.ok:
        errors = [lid for lid, _ in window.context.analysis.all_errors if lid]
        target = errors[0] if errors else target
    if target is not None:
        window.context.select(target)
    window.status_message(look_at, 0)
    return True


def open_learn_kernel(window: "MainWindow") -> None:
    from designer.gui.learn_kernel import LearnKernelDialog
    dialog = getattr(window, "learn_kernel_dialog", None)
    if dialog is None:
        dialog = LearnKernelDialog(window)
        window.learn_kernel_dialog = dialog   # type: ignore[attr-defined]
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()


def open_reference(window: "MainWindow") -> None:
    from designer.gui.explanation_view import LayerReference
    LayerReference(window, select=window.context.design.layer(window.context.selected_id).type
                   if window.context.selected_id in window.context.design else None).show()
