"""The desktop app (PySide6 + pyqtgraph); the only package that imports Qt."""
from designer.gui import pyside_fix

pyside_fix.install()
