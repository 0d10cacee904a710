"""Start the desktop app: `cnn-designer [FILE]` ends up in run_app."""
from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from designer.gui.file_actions import APPLICATION, ORGANISATION
from designer.gui.lifetimes import collect_in_gui_thread
from designer.gui.main_window import MainWindow
from designer.gui.panels import install_panels
from designer.gui.style import apply_style
from designer.gui.window.screen import fit_to_screen
from designer.io.design_file import DesignFileError, load

QUIT_AFTER_SHOW_ENV = "CNN_DESIGNER_QUIT_AFTER_SHOW"   # start-up benchmark


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("CNN Designer")
    apply_style(app)  # type: ignore[arg-type]
    collect_in_gui_thread()   # panels start worker threads: GC only in this thread
    return app  # type: ignore[return-value]


def create_window(path: str | None = None, *, with_panels: bool = True) -> MainWindow:
    """A window on the file (or the LeNet-5 sample), with the Training and
    Receptive-field panels. A file that cannot be read leaves the sample open;
    its message is kept in `startup_error` and shown by startup_checks() once
    the window is up."""
    _application()
    error: str | None = None
    design = None
    if path is not None:
        try:
            design = load(path)
        except DesignFileError as e:
            error = str(e)
    if design is None:
        window = MainWindow()
        window.startup_error = error
    else:
        window = MainWindow(design, os.path.abspath(path))
        window.files.remember(path)
    if with_panels:
        install_panels(window)
    return window


def run_app(path: str | None = None) -> int:
    app = _application()
    window = create_window(path)
    if window.settings.value("window/geometry") is None:
        fit_to_screen(window)   # the first window fits the screen it opens on
    window.show()
    if os.environ.get(QUIT_AFTER_SHOW_ENV):
        def report() -> None:
            window.repaint()   # count the first complete paint, not just show()
            print(f"shown_at={time.time():.6f} torch_imported={'torch' in sys.modules} "
                  f"title={window.windowTitle()!r} layers={len(window.context.design.layers)} "
                  f"startup_error={window.startup_error is not None}", flush=True)
            window.close()
            app.quit()
        QTimer.singleShot(0, report)
    else:
        QTimer.singleShot(0, window.startup_checks)
    return app.exec()
