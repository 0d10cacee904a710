"""The application style sheet (resources/style.qss), applied once at start."""
from __future__ import annotations

from pathlib import Path

import designer
from PySide6.QtWidgets import QApplication

RESOURCES = Path(designer.__file__).resolve().parent.parent / "resources"
SAMPLES = Path(designer.__file__).resolve().parent.parent / "samples"

ERROR_BG = "#fde7e9"
ERROR_FG = "#8a0012"
WARNING_BG = "#fff4d6"
WARNING_FG = "#5c4400"
MONO_FONT = "DejaVu Sans Mono, Consolas, Menlo, monospace"


def apply_style(app: QApplication) -> None:
    """Fusion looks the same on every platform; the sheet adds the details."""
    app.setStyle("Fusion")
    sheet = RESOURCES / "style.qss"
    if sheet.is_file():
        app.setStyleSheet(sheet.read_text(encoding="utf-8"))
